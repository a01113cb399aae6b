"""The vocabulary every layer speaks: errors, times, the metadata record and the key layout.

Pure functions and data, no I/O; nothing here imports from outside ``core``.
"""

"""Object stores behind a lake: the Store protocol with the local-folder store, and S3.

Stores import only ``core``; the engine above picks one through the factory.
"""

"""Object stores behind a lake: the Store protocol (base), a local folder (local), S3
(s3, with s3_fast for small transfers) and the scheme -> store table (registry).

Stores import only ``core`` and ``config``; the engine above opens one through the registry.
"""

"""Object stores behind a lake: the Store protocol (base), a local folder (local), memory
(memory), S3 (s3, with s3_fast for small transfers), Azure Blob Storage (azure, over blob:
obstore), Google Cloud Storage (gcs) and the scheme -> store table (registry).

Stores import only ``core`` and ``config``; the engine above opens one through the registry.
"""

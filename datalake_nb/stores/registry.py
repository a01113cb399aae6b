"""URL scheme -> Store: which store a resolved configuration names.

A new kind of storage is one module with a Store class that has
``from_config(url, config)``, and one line in SCHEMES.  The table names modules, not
classes, so a lake on a folder never imports boto3.  It lives apart from the stores, so
the base module never imports a subclass.
"""
from __future__ import annotations

import importlib
import urllib.parse

from ..config import Config
from ..core.errors import InvalidInput
from ..core.redact import redact_url
from .base import Store

SCHEMES = {  # scheme -> "module:Class" under datalake_nb.stores ("" is a plain folder path)
    "": "local:LocalStore",
    "file": "local:LocalStore",
    "s3": "s3:S3Store",
    "memory": "memory:MemoryStore",
    "gs": "gcs:GCSStore",
    "az": "azure:AzureStore",
    "azure": "azure:AzureStore",
    "abfs": "azure:AzureStore",
    "abfss": "azure:AzureStore",
    "https": "azure:AzureStore",  # https://ACCOUNT.blob.core.windows.net/container/prefix
}
ALLOWED = ("s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, memory://name, file:///path or a "
           "folder path")


def open_store(config: Config) -> Store:
    """The Store for the configured root URL (see SCHEMES)."""
    url = config["DATALAKE_STORAGE_URL"]
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("storage URL", f"is empty; give {ALLOWED}")
    scheme = urllib.parse.urlparse(url).scheme
    userinfo = urllib.parse.urlparse(url).netloc.rpartition("@")[0]
    if redact_url(url) != url and not (scheme in ("abfs", "abfss") and ":" not in userinfo):
        # (abfs://container@ACCOUNT.dfs.core.windows.net names a container there, no user)
        raise InvalidInput("storage URL", f"{redact_url(url)!r}: credentials do not belong in the "
                                          "URL; use AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                                          "AWS_SECRET_ACCESS_KEY")
    if len(scheme) == 1:  # 'C:' style drive letters are paths
        scheme = ""
    if scheme not in SCHEMES:
        raise InvalidInput("storage URL", f"{url!r}: unknown scheme {scheme!r}; use {ALLOWED}")
    module, _, name = SCHEMES[scheme].partition(":")
    store_class = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    return store_class.from_config(url, config)

"""The URL -> Store factory: which store a resolved configuration names.

It lives apart from the stores themselves, so the base module never imports a
subclass (the S3 store reads its own settings in ``S3Store.from_config``).
"""
from __future__ import annotations

import urllib.parse

from ..config import Config
from ..core.errors import InvalidInput
from ..core.redact import redact_url
from .base import LocalStore, Store


def open_store(config: Config) -> Store:
    """The Store for the configured root URL: s3://bucket/prefix, file:///path or a plain path."""
    url = config["DATALAKE_STORAGE_URL"]
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("storage URL", "is empty; give s3://bucket/prefix or a folder path")
    if redact_url(url) != url:
        raise InvalidInput("storage URL", f"{redact_url(url)!r}: credentials do not belong in the "
                                          "URL; use AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                                          "AWS_SECRET_ACCESS_KEY")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "s3":
        from .s3 import S3Store  # boto3 is imported only for an S3 lake
        return S3Store.from_config(url, config)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput("storage URL", f"{url!r}: file URLs must be file:///absolute/path")
        return LocalStore(urllib.parse.unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # 'C:' style drive letters are paths
        raise InvalidInput("storage URL", f"{url!r}: unknown scheme {parsed.scheme!r}; "
                                          "use s3://bucket/prefix, file:///path or a folder path")
    return LocalStore(url)

"""Azure Blob Storage as a Store (through obstore: see ``stores.blob``).

URLs: ``az://container/prefix`` (the account from AZURE_STORAGE_ACCOUNT_NAME),
``abfs[s]://container@ACCOUNT.dfs.core.windows.net/prefix`` and
``https://ACCOUNT.blob.core.windows.net/container/prefix``.  Credentials: the account key
(AZURE_STORAGE_ACCOUNT_KEY), else a SAS token (AZURE_STORAGE_SAS_TOKEN), else obstore's
chain (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, a federated token, the
managed identity).  DATALAKE_AZURE_ENDPOINT_URL points at Azurite or a sovereign cloud.
"""
from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ..config import Config, default_whole
from ..core.errors import DatalakeError, InvalidInput, Refused
from ..core.redact import redact_url, remember, scrub
from . import blob

CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
PREFIX_MAX = 300
URL_FORMS = ("az://container/prefix, abfs://container@ACCOUNT.dfs.core.windows.net/prefix or "
             "https://ACCOUNT.blob.core.windows.net/container/prefix")


def parse_azure_url(url: str) -> tuple[str | None, str, str]:
    """(account or None, container, prefix ending in '/' or '')."""
    parsed = urllib.parse.urlparse(url)
    scheme, host, path = parsed.scheme, parsed.netloc, parsed.path
    account: str | None = None
    if scheme in ("az", "azure"):
        container, prefix = host, path
    elif scheme in ("abfs", "abfss"):
        container, _, host = host.partition("@")
        account = host.split(".", 1)[0] if host.endswith(".dfs.core.windows.net") else None
        if account is None:
            raise InvalidInput("storage URL", f"{url!r}: use {URL_FORMS}")
        prefix = path
    elif scheme == "https" and host.endswith(".blob.core.windows.net"):
        account = host.split(".", 1)[0]
        container, _, prefix = path.lstrip("/").partition("/")
    else:
        raise InvalidInput("storage URL", f"{redact_url(url)!r}: use {URL_FORMS}")
    if account is not None and not ACCOUNT_RE.match(account):
        raise InvalidInput("storage URL", f"{url!r}: {account!r} is not a valid storage "
                                          "account name (3-24 lowercase letters and digits)")
    if not CONTAINER_RE.match(container):
        raise InvalidInput("storage URL", f"{url!r}: {container!r} is not a valid container "
                                          "name (3-63 lowercase letters, digits and single '-')")
    prefix = prefix.strip("/")
    if "//" in prefix or len(prefix.encode()) > PREFIX_MAX or parsed.query or parsed.fragment \
            or any(part in (".", "..") for part in prefix.split("/")):
        raise InvalidInput("storage URL", f"{url!r}: the prefix must be a plain path of at most "
                                          f"{PREFIX_MAX} bytes")
    return account, container, prefix + "/" if prefix else ""


class AzureStore(blob.BlobStore):
    scheme = "az"

    @classmethod
    def from_config(cls, url: str, config: Config) -> "AzureStore":
        return cls(url, endpoint_url=config["DATALAKE_AZURE_ENDPOINT_URL"],
                   account=config["AZURE_STORAGE_ACCOUNT_NAME"],
                   account_key=config["AZURE_STORAGE_ACCOUNT_KEY"],
                   sas_token=config["AZURE_STORAGE_SAS_TOKEN"],
                   part_concurrency=config.whole("DATALAKE_PART_CONCURRENCY"),
                   connect_timeout=config.seconds("DATALAKE_S3_CONNECT_TIMEOUT"),
                   read_timeout=config.seconds("DATALAKE_S3_READ_TIMEOUT"))

    def __init__(self, url: str, *, endpoint_url: str | None = None, account: str | None = None,
                 account_key: str | None = None, sas_token: str | None = None,
                 part_concurrency: int = default_whole("DATALAKE_PART_CONCURRENCY"),
                 connect_timeout: float | None = None, read_timeout: float | None = None) -> None:
        in_url, container, prefix = parse_azure_url(url)
        account = in_url or account
        if not account:
            raise InvalidInput("AZURE_STORAGE_ACCOUNT_NAME", f"not set; {url} names no storage "
                                                             "account: set it, or use https://"
                                                             "ACCOUNT.blob.core.windows.net/...")
        remember(account_key, sas_token)  # masked in every error text
        self.endpoint = redact_url(endpoint_url or f"https://{account}.blob.core.windows.net")
        options: dict[str, Any] = {"account_name": account}
        if endpoint_url:
            options["endpoint"] = endpoint_url.rstrip("/")
        if account_key:
            options["account_key"] = account_key
        elif sas_token:
            options["sas_key"] = sas_token.lstrip("?")
        client_options, retry = blob.timeouts(connect_timeout, read_timeout)
        client_options["allow_http"] = bool(endpoint_url and endpoint_url.startswith("http://"))
        obstore = blob.load_obstore()
        try:
            client = obstore.store.AzureStore(container, config=options,
                                              client_options=client_options, retry_config=retry)
        except obstore.exceptions.BaseError as exc:
            raise InvalidInput("storage URL", f"{url}: {scrub(str(exc).splitlines()[0])}") from None
        super().__init__(client, container, prefix, part_concurrency=part_concurrency)
        self.url = f"az://{container}/{prefix}"

    def metadata_attributes(self, metadata):
        # Azure's metadata names are C# identifiers: datalake-record is datalake_record.
        return {k.replace("-", "_"): v for k, v in metadata.items()} if metadata else None

    def is_missing_object(self, exc):
        return isinstance(exc, FileNotFoundError) and "ContainerNotFound" not in str(exc)

    def explain(self, what: str, exc: BaseException) -> DatalakeError:
        text = str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        code = re.search(r"<Code>([^<]+)</Code>", text)
        status = re.search(r"status code: (\d+)", text)
        retries = re.search(r"after (\d+) retries", text)
        tries = f" ({int(retries[1]) + 1} tries)" if retries else ""
        if "ContainerNotFound" in text or "container does not exist" in text:
            return Refused(f"{what}: the container of {self.url} does not exist; create it, or "
                           "check the URL and AZURE_STORAGE_ACCOUNT_NAME")
        if "kind: Timeout" in text or "timed out" in text.lower():
            return DatalakeError(f"{what}: the Azure endpoint {self.endpoint} did not answer in "
                                 f"time{tries}; check DATALAKE_AZURE_ENDPOINT_URL, or raise "
                                 "DATALAKE_S3_CONNECT_TIMEOUT / DATALAKE_S3_READ_TIMEOUT")
        if "kind: Connect" in text or "error sending request" in text.lower() \
                or "connection refused" in text.lower():
            return Refused(f"{what}: cannot reach the Azure endpoint {self.endpoint}{tries}; "
                           "check DATALAKE_AZURE_ENDPOINT_URL")
        if isinstance(exc, (blob.obstore.exceptions.PermissionDeniedError,
                            blob.obstore.exceptions.UnauthenticatedError)) \
                or (status and status[1] in ("401", "403")) or "token request" in first.lower():
            return Refused(f"{what}: access denied to {self.url} ({code[1] if code else 'HTTP 403'}"
                           "); check AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN (or the "
                           "AZURE_CLIENT_* identity) and its role on the container")
        detail = code[1] if code else (f"HTTP {status[1]}" if status else scrub(first)[:200])
        kind = Refused if status and status[1].startswith("4") else DatalakeError
        return kind(f"{what}: Azure error {detail} on {self.url}; try again, and check "
                    "DATALAKE_AZURE_ENDPOINT_URL if it keeps happening")

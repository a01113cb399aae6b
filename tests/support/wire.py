"""What goes over the wire to S3, whichever client sends it (boto3 or obstore).

``WireProxy`` is an HTTP reverse proxy on 127.0.0.1 in front of a test S3 server: point
AWS_ENDPOINT_URL at ``proxy.url`` and every request passes through it unchanged (the
Host header too, so signatures still verify).  It records each request's method, path,
query and headers, and can answer chosen ones itself with S3's 503 SlowDown, so a
client's own retries are what get tested (or with another answer, e.g. a redirect).
"""
from __future__ import annotations

import contextlib
import dataclasses
import http.client
import http.server
import socket
import threading
import urllib.parse
from typing import Callable, Iterator

from .faults import SLOWDOWN

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection"}


@dataclasses.dataclass(frozen=True)
class Sent:
    method: str
    path: str       # without the bucket: the key, e.g. "logs/data/..."
    query: str
    headers: dict[str, str]  # lower-case names


class WireProxy:
    def __init__(self, target: str, pick: Callable[[int], bool] = lambda n: False,
                 answer: tuple[int, bytes] = (503, SLOWDOWN)):
        self.target = urllib.parse.urlsplit(target).netloc
        self.pick = pick  # answer the nth request (from 1) itself?
        self.answer = answer  # with this status and XML body (S3's SlowDown by default)
        self.sent: list[Sent] = []
        self.throttled = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._local = threading.local()

    def _handle(self, req: http.server.BaseHTTPRequestHandler) -> None:
        body = _read_body(req)
        split = urllib.parse.urlsplit(req.path)
        bucket_and_key = split.path.lstrip("/").split("/", 1)
        with self._lock:
            self.sent.append(Sent(req.command, urllib.parse.unquote(
                bucket_and_key[1] if len(bucket_and_key) > 1 else ""), split.query,
                {k.lower(): v for k, v in req.headers.items()}))
            refuse = self.pick(len(self.sent))
            self.throttled += refuse
        if refuse:
            return _answer(req, self.answer[0], {"Content-Type": "application/xml"}, self.answer[1])
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.target, timeout=60)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            conn.request(req.command, req.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._local.conn = None
            raise
        _answer(req, answer.status, {k: v for k, v in answer.getheaders()
                                     if k.lower() not in HOP_BY_HOP | {"content-length"}},
                data, head=req.command == "HEAD", length=answer.getheader("Content-Length"))

    def requests(self, method: str | None = None, under: str = "") -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if (method is None or s.method == method)
                    and under in s.path]

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()


def _read_body(req: http.server.BaseHTTPRequestHandler) -> bytes:
    if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(req.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while req.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(req.rfile.read(size))
            req.rfile.readline()
    return req.rfile.read(int(req.headers.get("Content-Length") or 0))


def _answer(req: http.server.BaseHTTPRequestHandler, status: int, headers: dict[str, str],
            data: bytes, head: bool = False, length: str | None = None) -> None:
    req.send_response_only(status)
    for name, value in headers.items():
        req.send_header(name, value)
    req.send_header("Content-Length", length if head and length else str(len(data)))
    req.end_headers()
    if not head:
        req.wfile.write(data)


@contextlib.contextmanager
def wire_proxy(target: str, pick: Callable[[int], bool] = lambda n: False,
               answer: tuple[int, bytes] = (503, SLOWDOWN)) -> Iterator[WireProxy]:
    proxy = WireProxy(target, pick, answer)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()


class SilentServer:
    """Listens on 127.0.0.1, accepts every connection, reads nothing, answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()

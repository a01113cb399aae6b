"""A TCP proxy that makes loopback behave like a network link: every byte arrives half a
round trip late in each direction, a new connection costs one round trip before its
first byte goes through (the TCP handshake), and an optional bandwidth limit paces each
direction as one shared link (a chunk occupies the link for size/bandwidth).  With a limit,
each connection has at most ``WINDOW`` chunks waiting for the link, as TCP's window bounds
what a sender has in flight: connections share the link in turns, as on a real network.
(Without that window, the proxy read each answer whole as fast as the server sent it and
queued it on the link in one block, so a connection opened later got its first byte only
after every earlier answer had gone through: many seconds at 80 Mbit/s, which the client's
read timeout took for a dead server; issue 20, item 10.)

This kernel has no ``netem``, so the bench puts this proxy between every contender and
the S3 server: ``python -m bench --rtt 20ms [--bandwidth 1gbit]``.  Bytes pass unchanged;
reading goes on while earlier chunks wait, so a long transfer is delayed, not slowed.

    python -m bench.latency_proxy --target 127.0.0.1:8333 --rtt 20ms [--bandwidth 1gbit]

prints ``listening on http://127.0.0.1:PORT`` once it accepts connections.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import time

READ = 256 << 10
WINDOW = 2  # chunks of READ bytes one connection may have queued on a rate-limited link
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_duration(text: str) -> float:
    """'20ms', '0.02s', '20' (ms), '0' -> seconds."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|us)?\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; allowed: e.g. 20ms, 0.02s, 0")
    value, unit = float(match[1]), match[2] or "ms"
    return value * {"ms": 1e-3, "s": 1.0, "us": 1e-6}[unit]


def parse_rate(text: str) -> float:
    """'1gbit', '100mbit', '500kbit' -> bytes per second."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmg]?)bit\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a bandwidth; allowed: e.g. 1gbit, 100mbit")
    return float(match[1]) * UNITS[match[2]] / 8


class Link:
    """One direction of the link: when each chunk may be delivered."""

    def __init__(self, delay: float, rate: float | None):
        self.delay, self.rate = delay, rate
        self.free_at = 0.0  # when the link has sent everything queued so far (bandwidth only)

    def deliver_at(self, now: float, size: int) -> float:
        if not self.rate:
            return now + self.delay
        self.free_at = max(now, self.free_at) + size / self.rate
        return self.free_at + self.delay


class Proxy:
    def __init__(self, target: tuple[str, int], rtt: float, rate: float | None = None):
        self.target, self.rtt = target, rtt
        self.up, self.down = Link(rtt / 2, rate), Link(rtt / 2, rate)
        self.connections = 0

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._client, host, port, limit=READ)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await asyncio.sleep(self.rtt)  # the handshake: SYN out, SYN-ACK back
            up_reader, up_writer = await asyncio.open_connection(*self.target, limit=READ)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(self._pump(reader, up_writer, self.up),
                                 self._pump(up_reader, writer, self.down))
        except asyncio.CancelledError:
            pass  # the proxy is stopping: connections end with it
        finally:
            for end in (writer, up_writer):
                end.close()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: Link) -> None:
        """Read as bytes come (on a rate-limited link: while fewer than WINDOW chunks of
        this connection wait for it); write each chunk when the link delivers it; pass the
        end of the stream on as a half-close, like TCP does."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        window = asyncio.Semaphore(WINDOW) if link.rate else None

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if not dst.is_closing() and dst.can_write_eof():
                        dst.write_eof()
                    return
                dst.write(data)
                await dst.drain()
                if window is not None:
                    window.release()

        sender = asyncio.ensure_future(deliver())
        try:
            while not sender.done():
                if window is not None:
                    await window.acquire()
                try:
                    data = await src.read(READ)
                except OSError:  # reset by the peer: an end like any other
                    data = b""
                queue.put_nowait((link.deliver_at(time.monotonic(), len(data)), data))
                if not data:
                    break
            await sender
        except OSError:  # the other end went away while we wrote
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sender  # let it finish cancelling (else: "Task was destroyed")


async def main_async(args: argparse.Namespace) -> None:
    host, _, port = args.target.rpartition(":")
    proxy = Proxy((host, int(port)), parse_duration(args.rtt),
                  parse_rate(args.bandwidth) if args.bandwidth else None)
    server = await proxy.serve(port=args.port)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_proxy",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT of the server")
    parser.add_argument("--rtt", default="20ms", help="round-trip time to add (default 20ms)")
    parser.add_argument("--bandwidth", help="e.g. 1gbit: pace each direction to this rate")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    args = parser.parse_args(argv)
    try:
        parse_duration(args.rtt)
        if args.bandwidth:
            parse_rate(args.bandwidth)
    except ValueError as exc:
        parser.error(str(exc))
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

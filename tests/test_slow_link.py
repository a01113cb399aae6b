"""Issue 20, item 10: a large fetch at the default settings over a slow shared link
(80 Mbit/s through bench/latency_proxy, which now shares its link between connections as
TCP does) completes: no part waits behind its siblings until its read timeout fires.
Before the proxy's fix, 4 x 48 MiB failed after about 12 s with "did not answer in time"
(ranged GETs queued seconds behind the earlier answers); through the kernel's tbf on
loopback (a real TCP link: bench/slow_link.py --via tbf in unshare -n) it never failed."""
from __future__ import annotations

import pytest

pytest.importorskip("moto")

from bench.slow_link import run  # noqa: E402


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_large_fetch_over_a_slow_shared_link_completes_at_the_defaults():
    # the case: 4 x 48 MiB, 24 ranged GETs of 8 MiB, 8 at once; at 10 MB/s a GET
    # queued behind the others' answers waits more than 5 s (the default read timeout)
    got = run("proxy", "80mbit", files=4, mib=48, settings={})
    assert got.error is None, got.error
    assert got.read_timeout == "5s" and got.part_concurrency == 8  # the defaults
    assert len(got.parts) == 24 and not got.waited

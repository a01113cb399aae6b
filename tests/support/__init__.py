"""What the tests and the benchmarks share: S3 server launchers (moto, SeaweedFS), the
fault-injecting, call-counting and gated Store wrappers, file and lake helpers, waits for a
state, the clean environment every test gets (isolation), "in CI?" (ci) and reliability
figures.  Test modules import only from here and conftest, never from each other.

Tests import it as ``support`` (pytest puts tests/ on sys.path); bench/ as ``tests.support``.
"""

"""What the tests and the benchmarks share: S3 server launchers (moto, SeaweedFS), the
fault-injecting and call-counting Store wrappers, file helpers and reliability figures.

Tests import it as ``support`` (pytest puts tests/ on sys.path); bench/ as ``tests.support``.
"""

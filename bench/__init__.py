"""Benchmarks for issue 7: ``bin/bench`` (``python -m bench``). Not part of the test suite; see docs/performance.md."""

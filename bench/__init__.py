"""Benchmarks of chatcaddy's real pipeline against the sandbox X server (`make bench`, `python -m bench`).

Each module runs on its own (`python -m bench.latency`) and writes its section of `docs/benchmarks.md`:
`latency`, `read_cost`, `search_requests`, `own_work`, `dashboard`, `memory`. `common` is the shared harness.
"""

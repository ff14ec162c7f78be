"""Benchmarks of chatcaddy's real pipeline against the sandbox X server (`make bench`, `python -m bench`).

Each module runs on its own (`python -m bench.latency`) and writes its section of `docs/benchmarks.md`:
`latency`, `read_cost`, `search_requests`, `own_work`, `dashboard`, `memory`. `common` is the shared harness.
"""

from __future__ import annotations

NAMES = ("read_cost", "search_requests", "memory", "latency", "own_work", "dashboard")
COMMAND = "make bench (python -m bench)"


def run_named(names: tuple[str, ...], command: str = COMMAND) -> None:
    """Run these benchmarks one after another in this process, at their full size."""
    import importlib

    from bench.common import SECTIONS, quiet_logs

    quiet_logs()
    for name in names:
        print(f"{SECTIONS[name][0]} …", flush=True)
        section = importlib.import_module(f"bench.{name}").run(command=command)
        print(f"  {name}: {section.seconds:.0f} s", flush=True)

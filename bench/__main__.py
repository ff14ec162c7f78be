"""Run every benchmark (`make bench`, `python -m bench`) or the ones named (`python -m bench latency memory`),
each writing its section of docs/benchmarks.md.

The benchmarks that count (searches, reads, dollars, memory) run first, side by side on the machine's cores;
the ones that time (latency, own work, dashboard) then run one at a time on a machine they have to
themselves. `--one-by-one` runs every benchmark alone.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

from bench import NAMES, run_named

COUNTING = ("read_cost", "search_requests", "memory")  # their figures do not depend on the CPU they get
LANES = (("memory",), ("read_cost", "search_requests"))


def run_side_by_side(names: list[str]) -> None:
    """Run the counting benchmarks in two processes at once (one lane per core)."""
    spawn = multiprocessing.get_context("spawn")
    lanes = [tuple(n for n in lane if n in names) for lane in LANES]
    workers = [spawn.Process(target=run_named, args=(lane,)) for lane in lanes if lane]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    failed = [w for w in workers if w.exitcode != 0]
    if failed:
        raise SystemExit(f"{len(failed)} benchmark process(es) failed; see above")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--one-by-one", action="store_true", help="run every benchmark alone")
    args = parser.parse_args(argv)
    names = args.names or list(NAMES)
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    began = time.perf_counter()
    counting = [name for name in names if name in COUNTING]
    if args.one_by_one or len(counting) < 2:
        run_named(tuple(names))
    else:
        run_side_by_side(counting)
        run_named(tuple(name for name in names if name not in COUNTING))
    print(f"All done in {time.perf_counter() - began:.0f} s: docs/benchmarks.md", flush=True)


if __name__ == "__main__":
    main()

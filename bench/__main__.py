"""`python -m bench` (`make bench`): the engine tick benchmark; `--quick` for a smoke run."""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.engine_tick import (
    DEFAULT_MATRIX,
    LARGE_MATRIX,
    QUICK_MATRIX,
    Row,
    cleaned_up,
    operations_table,
    run,
    table,
)

PROFILE_LINES = 30


def parse_size(text: str) -> tuple[int, int]:
    """`40x4000` → (40 waves, 4000 servers)."""
    try:
        waves, servers = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WAVESxSERVERS, e.g. 40x4000") from None
    if not (1 <= waves <= servers <= waves * 100):
        raise argparse.ArgumentTypeError(f"{text}: need 1 <= waves <= servers <= 100 x waves")
    return waves, servers


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {_sizes(QUICK_MATRIX)}")
    parser.add_argument("--large", action="store_true", help=f"add {_sizes(LARGE_MATRIX)} (minutes more)")
    parser.add_argument(
        "--size",
        action="append",
        type=parse_size,
        metavar="WAVESxSERVERS",
        help=f"run only these sizes (repeatable); default: {_sizes(DEFAULT_MATRIX)}",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the engine's share of every advance call (DRS calls left out) under cProfile, write the "
        f"stats to FILE and print the top {PROFILE_LINES} functions by own time (timings then mean little)",
    )
    args = parser.parse_args(argv)
    matrix = args.size or (QUICK_MATRIX if args.quick else DEFAULT_MATRIX)
    if args.large and not args.size:
        matrix = (*matrix, *LARGE_MATRIX)
    print(
        f"drbot engine tick benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}; SQLite store, DRS simulator, "
        "sequential waves, one drill per row; times are CPU time (time.process_time)",
        flush=True,
    )
    started = time.perf_counter()

    def progress(row: Row) -> None:
        print(
            f"  {row.waves} waves x {row.servers} servers: {row.ticks} ticks, engine "
            f"{row.engine_ms_mean:.1f} ms/tick (p95 {row.engine_ms_p95:.1f}), "
            f"{row.per_wave():.2f} DRS calls/wave, cleanup {row.cleanup} ({row.instances_left} left); "
            f"{row.wall_seconds:.1f} s",
            flush=True,
        )

    profiler = cProfile.Profile() if args.profile else None
    rows = run(matrix, progress, profiler)
    print()
    print(table(rows))
    print("\nDRS API requests by operation (each page of a paginated call and each retry counts)\n")
    print(operations_table(rows))
    print(f"\n{len(rows)} run(s) in {time.perf_counter() - started:.0f} s wall time")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"\ncProfile of the engine's share of every advance call, written to {args.profile}:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(PROFILE_LINES)
    left = [row for row in rows if not cleaned_up(row)]
    if left:
        print(
            "\nCLEANUP NOT DONE: "
            + "; ".join(f"{r.waves}x{r.servers} {r.cleanup}, {r.instances_left} left" for r in left),
            flush=True,
        )
    return rows


def _sizes(matrix: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{s}" for w, s in matrix)


if __name__ == "__main__":
    sys.exit(0 if all(cleaned_up(row) for row in main(sys.argv[1:])) else 1)

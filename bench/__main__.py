"""`python -m bench` (`make bench`): the engine tick benchmark; `--quick` for a smoke run."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.engine_tick import DEFAULT_MATRIX, LARGE_MATRIX, QUICK_MATRIX, Row, operations_table, run, table


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
    parser.add_argument(
        "--large", action="store_true", help=f"add {_sizes(LARGE_MATRIX)} (several minutes more)"
    )
    parser.add_argument(
        "--size",
        action="append",
        type=parse_size,
        metavar="WAVESxSERVERS",
        help=f"run only these sizes (repeatable); default: {_sizes(DEFAULT_MATRIX)}",
    )
    args = parser.parse_args(argv)
    matrix = args.size or (QUICK_MATRIX if args.quick else DEFAULT_MATRIX)
    if args.large and not args.size:
        matrix = (*matrix, *LARGE_MATRIX)
    print(
        f"drbot engine tick benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}; SQLite store, DRS simulator, "
        "sequential waves, one drill per row",
        flush=True,
    )
    started = time.perf_counter()

    def progress(row: Row) -> None:
        print(
            f"  {row.waves} waves x {row.servers} servers: {row.ticks} ticks, {row.ms_mean:.1f} ms/tick",
            flush=True,
        )

    rows = run(matrix, progress)
    print()
    print(table(rows))
    print("\nDRS API requests by operation (each page of a paginated call counts)\n")
    print(operations_table(rows))
    print(f"\n{len(rows)} run(s) in {time.perf_counter() - started:.0f} s wall time")
    return rows


def _sizes(matrix: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{s}" for w, s in matrix)


if __name__ == "__main__":
    main(sys.argv[1:])

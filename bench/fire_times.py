"""What computing a schedule's next fire times costs (`python -m bench.fire_times`).

The scheduler computes the next five fire times of an expression for `/dr schedule add`, the list
and the App Home; an expression that never fires again must give up quickly (the search stops at
2199). Prints the best of several timed runs per expression, in milliseconds; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from orchestration.schedule_expressions import parse

EXPRESSIONS = (
    "cron(* * * * ? *)",
    "cron(0 3 ? * SUN#1 *)",
    "cron(0 0 30 2 ? *)",  # never fires: searched to 2199
    "cron(59 23 31 12 ? 2199)",
    "cron(0 12 29 2 ? *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 LW * ? *)",
    "rate(5 minutes)",
    "at(2026-12-01T03:00:00)",
)
ZONE = "Europe/Berlin"
START = datetime(2026, 1, 1, tzinfo=UTC)


def best_seconds(call: Callable[[], object], runs: int) -> float:
    """The fastest of `runs` timed calls (after one untimed call that warms the caches)."""
    call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m bench.fire_times", description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per expression (default 20)")
    args = parser.parse_args(argv)
    results: dict[str, float] = {}
    print(f"{'expression':<32} {'next 5 fire times, best ms':>28}")
    for text in EXPRESSIONS:
        expression = parse(text)
        seconds = best_seconds(lambda e=expression: e.next_fire_times(START, 5, ZONE), args.runs)
        results[text] = seconds
        print(f"{text:<32} {seconds * 1000:>28.3f}")
    return results


if __name__ == "__main__":
    main()

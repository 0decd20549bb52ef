"""`python -m bench.import_cost` (`make bench-import`): what importing each Lambda entry of
template.yaml costs, against the import of the libraries every entry needs, as drbot uses them.

The baseline is `import slack_bolt.adapter.aws_lambda, boto3, pydantic, aws_lambda_powertools` plus
`from pydantic import BaseModel`: pydantic 2's top module is lazy and loads none of the library, so
`import pydantic` alone measures nothing of it; the first `BaseModel` loads its fields, validators
and JSON schema (about 90 ms on the 2-core machine, bench/README.md), which any program that
defines one model pays. The table also gives each entry's ratio to that lazy `import pydantic`.

For each entry, the baseline, the lazy baseline and `import <entry>` run as whole processes,
alternately, each timed from outside (interpreter start-up included): its wall time, and its CPU
time (user + system, from `os.wait4`), which a busy machine disturbs less. Each process ends with
`os._exit(0)` right after its imports: a Lambda's init is start-up and import, never the
interpreter's teardown, whose final collection would otherwise be timed too (and an entry's
`gc.freeze()`, orchestration/cold_start.py, makes that collection skip its objects). The table
gives the medians and their ratios, and the ratio of the fastest processes ("best ratio": on a
shared machine, noise only ever adds time). The goal is a ratio of at most 1.25 for every entry
(bench/README.md), judged on wall time as Lambda's init sees it.

The processes get the environment the template gives the functions (the Globals' variables with
placeholder table names and ARNs, DRBOT_BACKEND=aws, the POWERTOOLS_* settings) and nothing of
this machine's AWS or drbot settings; an import makes no network call. Outside the Lambda runtime
powertools' tracing is off (no LAMBDA_TASK_ROOT), so drbot builds no Tracer; `--traced` adds a
row for the Slack entry with LAMBDA_TASK_ROOT set, where the Tracer and the X-Ray SDK are loaded at
import as on AWS (its baselines build a powertools Tracer too, as any traced function does).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LIBRARIES = ("slack_bolt.adapter.aws_lambda", "boto3", "pydantic", "aws_lambda_powertools")
LAZY_BASELINE = f"import {', '.join(LIBRARIES)}"  # pydantic's top module only
BASELINE = f"{LAZY_BASELINE}; from pydantic import BaseModel"  # the libraries as drbot uses them
EXIT = "import os; os._exit(0)"  # init only: no teardown, as in a Lambda's init
# what a traced powertools function does at import besides: build its Tracer (the X-Ray SDK, and
# the patching of what it calls; drbot's patches botocore and http.client, TRACED_MODULES)
TRACER = 'from aws_lambda_powertools import Tracer; Tracer(patch_modules=("botocore", "httplib"))'
GOAL = 1.25
SLACK_ENTRY = "bot.lambda_function"

# what template.yaml's Globals and the functions set (placeholders where the template has !Ref)
_ARN = "arn:aws:{}:us-east-1:123456789012:{}"
LAMBDA_ENV: Mapping[str, str] = {
    "DRBOT_BACKEND": "aws",
    "DRBOT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "PROTECTION_GROUPS_TABLE": "drbot-protection-groups",
    "RECOVERY_PLANS_TABLE": "drbot-recovery-plans",
    "EXECUTION_HISTORY_TABLE": "drbot-execution-history",
    "TARGET_ACCOUNTS_TABLE": "drbot-target-accounts",
    "TAG_SYNC_CONFIG_TABLE": "drbot-tag-sync-config",
    "DRBOT_SCHEDULES_TABLE": "drbot-schedules",
    "DRBOT_AUDIT_TABLE": "drbot-audit",
    "DRBOT_EXECUTION_PARTS_TABLE": "drbot-execution-parts",
    "STEP_FUNCTIONS_STATE_MACHINE_ARN": _ARN.format("states", "stateMachine:drbot-orchestration"),
    "SLACK_SECRET_ARN": _ARN.format("secretsmanager", "secret:drbot-slack"),
    "DRBOT_NOTIFIER": "bot.slack_notifier:notifier_from_settings",
    "POWERTOOLS_SERVICE_NAME": "drbot",
    "POWERTOOLS_METRICS_NAMESPACE": "drbot",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
_DROPPED = re.compile(r"^(AWS_|DRBOT_|POWERTOOLS_|SLACK_|LAMBDA_|_HANDLER$|PYTHON)")


@dataclass(frozen=True)
class Timing:
    wall_ms: float
    cpu_ms: float


@dataclass(frozen=True)
class Row:
    label: str
    entry: Timing  # medians of the whole `import <entry>` processes
    baseline: Timing  # medians of the baseline's processes, run alternately with the entry's
    lazy_baseline: Timing  # the same without `from pydantic import BaseModel`
    best_ratio: float  # the fastest entry process over the fastest baseline one (noise only adds)

    @property
    def ratio(self) -> float:
        return self.entry.wall_ms / self.baseline.wall_ms

    @property
    def cpu_ratio(self) -> float:
        return self.entry.cpu_ms / self.baseline.cpu_ms

    @property
    def lazy_ratio(self) -> float:
        return self.entry.wall_ms / self.lazy_baseline.wall_ms

    HEADER = (
        "import",
        "entry ms",
        "baseline ms",
        "ratio",
        f"<= {GOAL}",
        "best ratio",
        "entry CPU ms",
        "baseline CPU ms",
        "CPU ratio",
        "lazy pydantic ms",
        "ratio to it",
    )

    def cells(self) -> tuple[str, ...]:
        return (
            self.label,
            f"{self.entry.wall_ms:.0f}",
            f"{self.baseline.wall_ms:.0f}",
            f"{self.ratio:.2f}",
            "yes" if self.ratio <= GOAL else "NO",
            f"{self.best_ratio:.2f}",
            f"{self.entry.cpu_ms:.0f}",
            f"{self.baseline.cpu_ms:.0f}",
            f"{self.cpu_ratio:.2f}",
            f"{self.lazy_baseline.wall_ms:.0f}",
            f"{self.lazy_ratio:.2f}",
        )


def lambda_entries(template: Path = TEMPLATE) -> list[str]:
    """The modules of the template's `Handler:` lines, in order (the state machine's tasks run on
    the execution function, so they are among them)."""
    found = re.findall(r"^\s+Handler:\s*([\w.]+)\.\w+\s*$", template.read_text(), flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def lambda_environ(*, traced: bool = False) -> dict[str, str]:
    """This process's environment without AWS, drbot, Slack and Python settings, plus LAMBDA_ENV."""
    env = {key: value for key, value in os.environ.items() if not _DROPPED.match(key)}
    env.update(LAMBDA_ENV)
    if traced:
        env["LAMBDA_TASK_ROOT"] = str(ROOT)
    return env


def process_ms(imports: str, env: Mapping[str, str]) -> Timing:
    """Wall and CPU time of one `python -c "<imports>; os._exit(0)"` process, start to exit."""
    command = [sys.executable, "-c", f"{imports}; {EXIT}"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=dict(env), cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return Timing(wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000)


def _median(timings: Sequence[Timing]) -> Timing:
    return Timing(statistics.median(t.wall_ms for t in timings), statistics.median(t.cpu_ms for t in timings))


def measure(label: str, module: str, runs: int, env: Mapping[str, str], *, also: str = "") -> Row:
    """`runs` alternating rounds (baseline, lazy baseline, then the entry) after one unmeasured
    round (it writes the bytecode caches and warms the file system cache). `also`: imports both
    baselines add (the Tracer, for the traced row)."""
    extra = f"; {also}" if also else ""
    imports = (BASELINE + extra, LAZY_BASELINE + extra, f"import {module}")
    for code in imports:
        process_ms(code, env)
    timings: list[list[Timing]] = [[], [], []]
    for _ in range(runs):
        for code, timed in zip(imports, timings, strict=True):
            timed.append(process_ms(code, env))
    baseline, lazy, entry = (_median(timed) for timed in timings)
    best = min(t.wall_ms for t in timings[2]) / min(t.wall_ms for t in timings[0])
    return Row(label, entry, baseline, lazy, best)


def table(rows: Sequence[Row]) -> str:
    cells = [Row.HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(Row.HEADER))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(prog="python -m bench.import_cost", description=__doc__)
    parser.add_argument("--runs", type=int, default=25, help="alternating rounds per entry (medians)")
    parser.add_argument("--entry", action="append", help="only this module (repeatable)")
    parser.add_argument("--traced", action="store_true", help=f"add {SLACK_ENTRY} with tracing on")
    args = parser.parse_args(argv)
    entries = args.entry or lambda_entries()
    print(
        f"Import cost of the Lambda entries, {args.runs} alternating runs each, medians of whole "
        f"processes (Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)); baseline: {BASELINE}",
        flush=True,
    )
    env = lambda_environ()
    rows = []
    for module in entries:
        rows.append(measure(module, module, args.runs, env))
        print(f"  {module}: {rows[-1].ratio:.2f} (CPU {rows[-1].cpu_ratio:.2f})", flush=True)
    if args.traced:
        traced = lambda_environ(traced=True)
        rows.append(measure(f"{SLACK_ENTRY} (traced)", SLACK_ENTRY, args.runs, traced, also=TRACER))
    print()
    print(table(rows))
    return rows


if __name__ == "__main__":
    rows = main(sys.argv[1:])
    sys.exit(0 if all(row.ratio <= GOAL for row in rows) else 1)

"""Slack ack latency and the Lambda entry's cold import.

    python -m bench.slack_ack [--requests 1000] [--imports 5]

1. Ack latency: signed requests dispatched into the app, the WebClient and response_urls pointed
   at the loopback Slack stub (tests/slack_stub.py); p50/p99 of the time until bolt returns the ack.
   - `/dr help` in Socket Mode / HTTP (process_before_response=False): the command then runs on
     bolt's thread pool, competing for the GIL while the next requests are acked;
   - `/dr help` through the Lambda entry (`bot.lambda_function.handler`, an API Gateway event):
     the ack includes bolt's synchronous `lambda:InvokeFunction` of the lazy listener, answered
     here by botocore's Stubber (on AWS, add that API call's round trip);
   - a button click (block_actions) on a bench-only action that only acks, both ways.
2. Cold import of `bot.lambda_function` next to the bare import of its libraries, each in a fresh
   interpreter (the import alone, interpreter start-up excluded), best of N; and a whole cold
   start up to the ack: import, build the services (embedded default) and the app, ack `/dr help`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
NOOP_ACTION = "bench_noop"
IMPORTS = (
    "slack_bolt",
    "boto3",
    "aws_lambda_powertools",
    "slack_bolt, boto3, aws_lambda_powertools",
    "bot.lambda_function",
)
ANSWER_WAIT_SECONDS = 120.0
# what the cold-start child prints its result after: the Lambda entry's powertools Metrics writes its
# EMF lines (JSON) to the same stdout
RESULT_MARK = "drbot-bench-cold-start:"


@dataclasses.dataclass(frozen=True)
class Latency:
    name: str
    seconds: list[float]

    def row(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        return (
            f"{self.name:<50} n={len(ms):<5} p50={statistics.median(ms):7.2f} ms  "
            f"p99={p99:7.2f} ms  max={ms[-1]:7.2f} ms"
        )


def time_each(requests: Sequence[Any], send: Callable[[Any], int]) -> list[float]:
    timings = []
    for request in requests:
        started = time.perf_counter()
        status = send(request)
        timings.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"the app answered {status}")
    return timings


def ack_latencies(count: int) -> list[Latency]:
    from bot import lambda_function
    from bot.app import build_app
    from orchestration.bootstrap import build_services
    from orchestration.config import Settings
    from orchestration.handlers import runtime
    from tests.slack_requests import LambdaContext, StubbedLambda, block_actions, slash_command
    from tests.slack_stub import RESPONSE_URL, running_stub

    with tempfile.TemporaryDirectory() as tmp, running_stub() as stub:
        settings = dataclasses.replace(
            Settings.from_env({}, db_path=Path(tmp) / "drbot.db"),
            slack_bot_token=SecretStr(BOT_TOKEN),
            slack_signing_secret=SecretStr(SIGNING_SECRET),
            slack_api_url=stub.api_url,
        )
        services = build_services(settings)
        results = []
        try:
            local = build_app(services)
            local.action(NOOP_ACTION)(lambda ack: ack())

            def dispatch(request: Any) -> int:
                return int(local.dispatch(request.bolt()).status)

            commands = [
                slash_command(SIGNING_SECRET, "help", response_url=stub.new_response_url())
                for _ in range(count)
            ]
            results.append(Latency("/dr help, Socket Mode / HTTP", time_each(commands, dispatch)))
            stub.wait_for(RESPONSE_URL, count=count, timeout=ANSWER_WAIT_SECONDS)  # every answer arrived
            clicks = [block_actions(SIGNING_SECRET, NOOP_ACTION) for _ in range(count)]
            results.append(Latency("button click, Socket Mode / HTTP", time_each(clicks, dispatch)))

            faas = build_app(services, process_before_response=True)
            faas.action(NOOP_ACTION)(lambda ack: ack())
            clicks = [block_actions(SIGNING_SECRET, NOOP_ACTION) for _ in range(count)]
            results.append(
                Latency(
                    "button click, process_before_response",
                    time_each(clicks, lambda r: int(faas.dispatch(r.bolt()).status)),
                )
            )

            lambda_client = StubbedLambda()
            lambda_client.expect(count + 1)
            runtime.use(services)
            lambda_function.use(lambda_client=lambda_client.client)
            warm_up = slash_command(SIGNING_SECRET, "help", response_url=stub.new_response_url())
            events = [
                slash_command(SIGNING_SECRET, "help", response_url=stub.new_response_url()).apigw_event()
                for _ in range(count)
            ]
            # the Lambda entry flushes its powertools metrics as EMF JSON lines on stdout (CloudWatch
            # reads them from the log): kept out of the benchmark's own output
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                lambda_function.handler(warm_up.apigw_event(), LambdaContext())
                first_request = time.perf_counter() - started
                lambda_latency = time_each(
                    events, lambda e: int(lambda_function.handler(e, LambdaContext())["statusCode"])
                )
            results.append(Latency("/dr help, Lambda entry (API Gateway event)", lambda_latency))
            results.append(Latency("  first Lambda request (modules already imported)", [first_request]))
        finally:
            lambda_function.use(None)
            runtime.use(None)
            services.close()
        if stub.violations:
            raise RuntimeError(
                f"the app made calls Slack's API description does not allow: {stub.violations}"
            )
    return results


def marked_result(stdout: str, stderr: str = "") -> list[str]:
    """The fields of the line a child printed after RESULT_MARK; any other line (the powertools
    metrics' EMF JSON, a library's print) is not the child's answer and is skipped."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return line[len(RESULT_MARK) :].split()
    raise RuntimeError(f"no '{RESULT_MARK}' line in the child's output: {stdout[-500:]!r} {stderr[-500:]!r}")


def import_seconds(module: str, best_of: int) -> float:
    """The best time to import `module` in a fresh interpreter (start-up excluded)."""
    code = (
        f"import time; t = time.perf_counter(); import {module}; "
        f"print({RESULT_MARK!r}, time.perf_counter() - t)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DRBOT_"))}
    runs = []
    for _ in range(best_of):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=60
        )
        runs.append(float(marked_result(done.stdout, done.stderr)[0]))
    return min(runs)


COLD_START = """
import json, sys, time
event = json.loads(sys.stdin.read())

class Context:
    function_name = "drbot-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:drbot-slack"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start"

class Invocations:  # the lazy self-invocation, answered as Lambda does (202) without a network
    def invoke(self, **params):
        return {"StatusCode": 202}

started = time.perf_counter()
from bot import lambda_function
lambda_function.use(lambda_client=Invocations())
status = lambda_function.handler(event, Context())["statusCode"]
print(MARK, status, time.perf_counter() - started)
"""


def cold_start_seconds(best_of: int) -> float:
    """Import + services + app + the first ack, in a fresh interpreter per run (best of N)."""
    from tests.slack_requests import slash_command
    from tests.slack_stub import running_stub

    runs = []
    with running_stub() as stub, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DRBOT_", "AWS_"))}
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=stub.api_url,
            DRBOT_DB_PATH=str(Path(tmp) / "drbot.db"),
        )
        for _ in range(best_of):
            event = slash_command(SIGNING_SECRET, "help", response_url=stub.new_response_url()).apigw_event()
            done = subprocess.run(
                [sys.executable, "-c", f"MARK = {RESULT_MARK!r}\n{COLD_START}"],
                input=json.dumps(event),
                capture_output=True,
                text=True,
                check=True,
                env=env,
                timeout=60,
            )
            status, seconds = marked_result(done.stdout, done.stderr)
            if status != "200":
                raise RuntimeError(f"the cold Lambda answered {status}: {done.stderr[-500:]}")
            runs.append(float(seconds))
    return min(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack_ack", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="signed requests per measurement")
    parser.add_argument("--imports", type=int, default=5, help="fresh interpreters per import (best of)")
    args = parser.parse_args(argv)

    print(f"Ack latency through app.dispatch, {args.requests} signed requests each (loopback Slack stub):")
    for latency in ack_latencies(args.requests):
        print("  " + latency.row())
    print(f"\nCold import, fresh interpreter, best of {args.imports} (Python {sys.version.split()[0]}):")
    for module in IMPORTS:
        print(f"  import {module:<44} {import_seconds(module, args.imports) * 1000:7.1f} ms")
    cold = cold_start_seconds(args.imports)
    print(f"  {'cold start to the first ack (import + build)':<51} {cold * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

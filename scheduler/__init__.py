"""Drill schedules (docs/schedules.md) and the backends that fire them (and the scheduled tag sync).

The expression engine is domain logic and lives in `orchestration.schedule_expressions` (it parses and
validates `cron(...)`, `rate(...)` and `at(...)` in an IANA time zone, computes fire times with
EventBridge's daylight-saving rules and describes them in English);
`scheduler.apscheduler_trigger` drives the embedded APScheduler backend from the same calculation.
"""

"""Drill schedules (docs/schedules.md): EventBridge Scheduler expressions and the backends that fire them.

`scheduler.expressions` parses and validates `cron(...)`, `rate(...)` and `at(...)` in an IANA time
zone, computes fire times with EventBridge's daylight-saving rules and describes them in English;
`scheduler.apscheduler_trigger` drives the embedded APScheduler backend from the same calculation.
"""

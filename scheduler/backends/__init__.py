"""The backends that fire drill schedules: one port (`port.py`), EventBridge Scheduler on AWS
(`eventbridge.py`) and APScheduler in drbot's own process for the embedded default (`local.py`).

The store holds the schedules; a backend only fires them, so every fire is checked against the
stored schedule (`scheduler.fire`) and a backend entry left behind by a failed write is harmless.
"""

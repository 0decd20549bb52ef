"""Buttons (block_actions), one module per message or modal they are on; `register(app)` adds them all."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.actions import builders, executions, home, schedules, servers


def register(app: App) -> None:
    executions.register(app)
    schedules.register(app)
    servers.register(app)
    builders.register(app)
    home.register(app)

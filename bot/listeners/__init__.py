"""Slack listeners, one module per kind (commands, actions/, views, options, events), each with
`register(app)`; `register(app)` here adds them all, and bot/app.py calls it.

A listener is a named module-level function, short: ack, parse into a typed request, call one
service function, render. What it needs (the services, the command registry, the Home publisher,
the redactor) it reads from bolt's context (bot/listeners/context.py); the app puts it there
before calling `register`. A listener that works lazily acks at once (bot/listeners/lazy.py).
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, guard, middleware, options, views


def register(app: App) -> None:
    """Every listener of drbot's Slack app, after `ProvideDrbot` (bot/listeners/context.py)."""
    guard.install(app)  # first: the listeners and the error middleware read what it checks
    middleware.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    options.register(app)
    events.register(app)

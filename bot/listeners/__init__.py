"""Slack listeners, one module per feature, each with `register(app, ...)`; bot/app.py composes them.

A listener is short: ack, parse into a typed request, call one service function, render.
"""

"""Durable state: the Store port and its adapters.

The adapters are imported on first use, so `import orchestration.store` stays cheap and the
embedded default never loads boto3.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from orchestration.store.base import Store

if TYPE_CHECKING:
    from orchestration.store.dynamodb import DynamoDbStore
    from orchestration.store.sqlite import SqliteStore

__all__ = ["DynamoDbStore", "SqliteStore", "Store"]

_ADAPTERS = {
    "SqliteStore": "orchestration.store.sqlite",
    "DynamoDbStore": "orchestration.store.dynamodb",
}


def __getattr__(name: str) -> Any:
    if name in _ADAPTERS:
        return getattr(import_module(_ADAPTERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

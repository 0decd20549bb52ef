"""The Step Functions definition that drives an execution on AWS (docs/statemachine.md).

The ASL is packaged data (`orchestration.asl.json`); template.yaml fills its `${...}` placeholders
with DefinitionSubstitutions, and `definition()` does the same for tests and tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

DEFINITION_FILE = "orchestration.asl.json"
FUNCTION_ARN_PLACEHOLDER = "ExecutionFunctionArn"  # the Lambda that runs handle_task

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition_text() -> str:
    """The ASL exactly as packaged, placeholders included."""
    return resources.files(__name__).joinpath(DEFINITION_FILE).read_text(encoding="utf-8")


def definition(substitutions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ASL as a dict; `${Name}` placeholders replaced from `substitutions` as CloudFormation's
    DefinitionSubstitutions would (one not given stays as it is)."""
    text = definition_text()
    if substitutions:
        text = _PLACEHOLDER.sub(lambda m: substitutions.get(m.group(1), m.group(0)), text)
    loaded: dict[str, Any] = json.loads(text)
    return loaded

"""The reference row of `python -m bench.import_cost --reference`: the baseline's libraries and one
pydantic model, deferred as drbot's domain models are (`defer_build`), and nothing else.

The baseline's `import pydantic` loads only pydantic's lazy top module; the first model class loads
the rest (its fields, validators, `annotated_types`). Every Lambda entry reads its settings and
records through pydantic models, so this row is the least an entry can cost against the baseline.
"""

from __future__ import annotations

import aws_lambda_powertools  # noqa: F401 - imported for its cost, as the baseline does
import boto3  # noqa: F401
import slack_bolt.adapter.aws_lambda  # noqa: F401
from pydantic import BaseModel, ConfigDict


class Reference(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str
    count: int = 0

"""The base of every record, and the one JSON form of records.

All records are frozen pydantic models: they validate what comes in from files and services,
serialise deterministically (`to_json`) and give the JSON Schema that `schema/` publishes.
Sequences are tuples, datetimes are UTC. Each stage keeps its own records in its `model`
module (`enrich.digest.model`, `enrich.resolve.model`, `enrich.repos.model`,
`enrich.render.model`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Base of every record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Serialise records (or plain data holding records) with sorted keys and a final newline."""
    return json.dumps(to_plain(value), ensure_ascii=False, sort_keys=True, indent=indent) + "\n"


def to_plain(value: Any) -> Any:
    """Turn records and containers of records into JSON-ready Python values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value

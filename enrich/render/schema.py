"""JSON Schemas of the output records, generated from the models (`schema/` holds copies).

    python -m enrich.render.schema schema/    # regenerate the committed copies
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from enrich.render.model import DigestView, Paper

BASE_ID = "https://github.com/digest-enrich/digest-enrich/schema/"


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema (draft 2020-12) for each record written to the output."""
    out: dict[str, dict[str, Any]] = {}
    for name, model, title in (
        ("paper.schema.json", Paper, "A line of papers.jsonl"),
        ("digest.schema.json", DigestView, "A file in digests/"),
    ):
        schema = model.model_json_schema(mode="serialization")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "$id": BASE_ID + name, "title": title, **{k: v for k, v in schema.items()
                                                           if k != "title"}}
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "schema")
    target.mkdir(parents=True, exist_ok=True)
    for file_name, body in schemas().items():
        (target / file_name).write_text(render(body), encoding="utf-8")

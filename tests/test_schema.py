"""The JSON Schemas in schema/ are the ones the models generate, and they reject bad records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from enrich.render.schema import render, schemas

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"


@pytest.mark.parametrize("name", sorted(schemas()))
def test_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == render(schemas()[name]), (
        f"schema/{name} is stale: run `python -m enrich.render.schema schema/`")


@pytest.mark.parametrize("name", sorted(schemas()))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schemas()[name])


def _paper() -> dict[str, Any]:
    return {
        "key": "arxiv:2205.14459", "arxiv_id": "2205.14459", "arxiv_version": 2,
        "title": "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
        "authors": ["Shashank Goel"], "abstract": "x",
        "published": "2022-05-28T00:00:00Z", "updated": "2022-10-26T00:00:00Z",
        "primary_category": "cs.CV", "categories": ["cs.CV"], "doi": None,
        "arxiv_doi": "10.48550/arXiv.2205.14459", "journal_ref": None, "comment": None,
        "abs_url": "https://arxiv.org/abs/2205.14459v2", "pdf_url": None,
        "digest_title": "CyCLIP", "digest_authors": ["Shashank Goel"],
        "match": {"status": "matched", "score": 1.0, "method": "title-batch",
                  "candidates": [], "error": None, "paper": None},
        "links": [], "repos": [], "citekey": "goel2022cyclip", "digests": [],
    }


def test_schema_accepts_a_paper_and_rejects_broken_ones() -> None:
    schema = schemas()["paper.schema.json"]
    paper = _paper()
    try:
        jsonschema.validate(paper, schema)
    except jsonschema.ValidationError as exc:  # the fixture must follow the model
        pytest.fail(f"valid paper rejected: {exc.message}")
    for path, bad in ((("match", "status"), "probably"), (("arxiv_version",), "two"),
                      (("authors",), "Goel")):
        broken = copy.deepcopy(paper)
        target = broken
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = bad
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    missing = {k: v for k, v in paper.items() if k != "title"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, schema)
    json.dumps(paper)

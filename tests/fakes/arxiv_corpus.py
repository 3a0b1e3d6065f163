"""The arXiv fake's corpus: papers with their version history, and the matching cases.

`tests/fixtures/arxiv_corpus.json` holds the data (see its `about` and `conventions`); this
module loads it into frozen records and checks it, so a broken fixture fails loudly at load
time instead of as a puzzling search result.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.textfold import split_id

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv_corpus.json"

# The reference gives calendar days only. Noon UTC stays on the same calendar day in every
# time zone from UTC-11 to UTC+11, so date-only facts cannot drift a day in anyone's tests.
_DEFAULT_TIME = dt.time(12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class FakeVersion:
    """One version of a paper; title/authors/abstract are set only where they differed."""

    version: int
    date: dt.datetime
    title: str | None = None
    authors: tuple[str, ...] | None = None
    abstract: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What arXiv shows for one version of a paper: the unit the fake renders as an entry."""

    arxiv_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: dt.datetime
    updated: dt.datetime
    comment: str | None
    journal_ref: str | None
    doi: str | None
    primary_category: str
    categories: tuple[str, ...]
    affiliations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FakePaper:
    """A paper as the fake arXiv knows it; the top-level fields are its latest version."""

    arxiv_id: str
    versions: tuple[FakeVersion, ...]
    title: str
    authors: tuple[str, ...]
    abstract: str
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    primary_category: str = "cs.CV"
    categories: tuple[str, ...] = ("cs.CV",)
    affiliations: tuple[tuple[str, str], ...] = ()
    decoy: bool = False
    why: str | None = None
    fixture_note: str | None = None
    seed: tuple[str, int] | None = None

    @property
    def latest_version(self) -> int:
        """The number of the newest version (what arXiv serves by default)."""
        return self.versions[-1].version

    @property
    def published(self) -> dt.datetime:
        """When v1 appeared."""
        return self.versions[0].date

    @property
    def updated(self) -> dt.datetime:
        """When the newest version appeared."""
        return self.versions[-1].date

    def has_version(self, version: int) -> bool:
        """True when the paper has a version with this number."""
        return 1 <= version <= self.latest_version

    def snapshot(self, version: int | None = None) -> Snapshot:
        """The metadata arXiv shows for `version` (default: the latest).

        A field a version record does not set is inherited from the next later record that
        sets it, else from the latest version: metadata only changes where the corpus says so.
        """
        number = self.latest_version if version is None else version
        if not self.has_version(number):
            raise KeyError(f"{self.arxiv_id} has no v{number}")
        later = self.versions[number - 1:-1]
        title = next((v.title for v in later if v.title is not None), self.title)
        authors = next((v.authors for v in later if v.authors is not None), self.authors)
        abstract = next((v.abstract for v in later if v.abstract is not None), self.abstract)
        return Snapshot(
            arxiv_id=self.arxiv_id, version=number, title=title, authors=authors,
            abstract=abstract, published=self.published,
            updated=self.versions[number - 1].date, comment=self.comment,
            journal_ref=self.journal_ref, doi=self.doi,
            primary_category=self.primary_category, categories=self.categories,
            affiliations=tuple(pair for pair in self.affiliations if pair[0] in authors),
        )


@dataclass(frozen=True)
class MatchCase:
    """A digest entry and the arXiv ID it should resolve to (None: it must stay unresolved)."""

    name: str
    title: str
    authors: tuple[str, ...]
    digest_date: dt.date
    expected: str | None
    why: str


def parse_when(text: str) -> dt.datetime:
    """A fixture date: `YYYY-MM-DD` (at noon UTC) or a full ISO timestamp (made UTC)."""
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), _DEFAULT_TIME)
    when = dt.datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _optional_tuple(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _version(raw: Mapping[str, Any]) -> FakeVersion:
    return FakeVersion(
        version=int(raw["version"]), date=parse_when(raw["date"]), title=raw.get("title"),
        authors=_optional_tuple(raw.get("authors")), abstract=raw.get("abstract"),
    )


def paper_from_json(raw: Mapping[str, Any]) -> FakePaper:
    """Build and check one paper from its fixture form."""
    arxiv_id = raw["arxiv_id"]
    base, version = split_id(arxiv_id)
    if base != arxiv_id or version is not None:
        raise ValueError(f"corpus ids carry no version: {arxiv_id!r}")
    versions = tuple(_version(v) for v in raw["versions"])
    if [v.version for v in versions] != list(range(1, len(versions) + 1)):
        raise ValueError(f"{arxiv_id}: versions must be numbered 1..n without gaps")
    if any(later.date < earlier.date for earlier, later in itertools.pairwise(versions)):
        raise ValueError(f"{arxiv_id}: version dates go backwards")
    last = versions[-1]
    if (last.title, last.authors, last.abstract) != (None, None, None):
        raise ValueError(f"{arxiv_id}: the latest version's metadata belongs at top level")
    categories = tuple(raw["categories"])
    if raw["primary_category"] not in categories:
        raise ValueError(f"{arxiv_id}: primary category missing from categories")
    seed = raw.get("seed")
    return FakePaper(
        arxiv_id=arxiv_id, versions=versions, title=raw["title"], authors=tuple(raw["authors"]),
        abstract=raw["abstract"], comment=raw.get("comment"), journal_ref=raw.get("journal_ref"),
        doi=raw.get("doi"), primary_category=raw["primary_category"], categories=categories,
        affiliations=tuple(sorted((raw.get("affiliations") or {}).items())),
        decoy=bool(raw.get("decoy", False)), why=raw.get("why"),
        fixture_note=raw.get("fixture_note"),
        seed=(seed["digest"], int(seed["index"])) if seed else None,
    )


def _read(path: Path | str | None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path or DEFAULT_CORPUS).read_text(encoding="utf-8"))
    return data


def load_corpus(path: Path | str | None = None) -> list[FakePaper]:
    """The fake's papers, in fixture order (default: `tests/fixtures/arxiv_corpus.json`)."""
    papers = [paper_from_json(raw) for raw in _read(path)["papers"]]
    seen: set[str] = set()
    for paper in papers:
        if paper.arxiv_id in seen:
            raise ValueError(f"duplicate paper {paper.arxiv_id}")
        seen.add(paper.arxiv_id)
        if paper.decoy and not paper.why:
            raise ValueError(f"decoy {paper.arxiv_id} must say why it exists")
    return papers


def load_cases(path: Path | str | None = None) -> list[MatchCase]:
    """The fixture's matching cases: digest entries and the IDs they should resolve to."""
    return [
        MatchCase(
            name=raw["name"], title=raw["title"], authors=tuple(raw["authors"]),
            digest_date=dt.date.fromisoformat(raw["digest_date"]), expected=raw["expected"],
            why=raw["why"],
        )
        for raw in _read(path)["cases"]
    ]

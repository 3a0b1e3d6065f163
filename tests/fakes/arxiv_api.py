"""A loopback fake of the arXiv query API that speaks its real wire format.

`FakeArxiv` serves `GET /api/query?…` and `POST /api/query` (form body) on 127.0.0.1 from a
corpus of `FakePaper`s, and answers with Atom feeds shaped like arXiv's (namespaces, opensearch
counts, wrapped titles and summaries, `arxiv:` extension elements, a one-entry `Error` feed with
HTTP 400 for bad requests). Search runs a real parser over arXiv's query grammar:

    query   := or_expr
    or_expr := and_expr (["OR"] and_expr)*          bare juxtaposition means OR
    and_expr:= unary (("AND" | "ANDNOT") unary)*    AND/ANDNOT bind tighter than OR
    unary   := "(" or_expr ")" | [FIELD ":"] (TERM | "phrase" | "(" or_expr ")")
             | ("submittedDate" | "lastUpdatedDate") ":" "[" FROM "TO" TO "]"

Fields are `ti au abs co jr cat id all` (an unknown field searches `all`); operators count only
in capitals. Text is indexed like Lucene's standard analysis would: accents (TeX ones too)
folded, lower-cased, split at anything that is not a letter or digit (`textfold.words`). A
quoted phrase, or a bare term that splits into several words (`ti:self-supervised`), must match
consecutive words of one field value (one author's name for `au:`; `_` joins name parts, so
`au:del_maestro` is the phrase "del maestro"). Outside quotes `?` and `*` are wildcards, so a
title ending in `?` that reaches the query unquoted looks for a longer word. Search sees each
paper's latest version, as arXiv's does.

It stands in for arXiv where the real program talks to it over real HTTP (the end-to-end,
fault, crash-recovery, deployment and secrets tests, and `bench/`); unit tests answer through
`httpx.MockTransport` with its query engine in process (`Index`, `respond`) or recorded feeds
(`tests.support.transports`). The server keeps a thread-safe log of every request, counts
concurrency (`max_in_flight`, `gate_violations`) and injects faults, either scripted
(`enqueue_faults`) or drawn from a seeded `FaultPlan`. Run it standalone with
`python -m tests.fakes.arxiv_api --corpus tests/fixtures/arxiv_corpus.json --port 8765`.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import hashlib
import itertools
import random
import re
import socket
import struct
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from lxml import etree

from tests.fakes import textfold
from tests.fakes.arxiv_corpus import FakePaper, Snapshot, load_corpus
from tests.fakes.loopback import serve_until_interrupted

API_PATH = "/api/query"
ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_NS = "http://arxiv.org/schemas/atom"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
MAX_RESULTS_LIMIT = 2000  # arXiv's ceiling per call
DEFAULT_MAX_RESULTS = 10  # the raw API's default (the `arxiv` package always sends its own)
# A request that starts within this much of the gate's limit is not a violation: the server
# takes its timestamps a little after/before the client's gate does, and threads are scheduled
# with jitter of a millisecond or two.
GATE_TOLERANCE = 0.005
# Feeds are dated, but a changing date would make recorded answers differ run to run.
FEED_UPDATED = "2025-01-01T00:00:00-05:00"

FIELDS = ("ti", "au", "abs", "co", "jr", "cat", "id", "all")
TEXT_FIELDS = ("ti", "au", "abs", "co", "jr")
RANGE_FIELDS = {"submittedDate": "published", "lastUpdatedDate": "updated"}
OPERATORS = frozenset({"AND", "OR", "ANDNOT"})
SORT_BY = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER = ("ascending", "descending")
# Title hits should outrank author hits, which outrank hits in the abstract or comment.
_WEIGHTS = {"ti": 3.0, "au": 2.0, "abs": 1.0, "co": 1.0, "jr": 1.0, "cat": 1.0, "id": 1.0}


# ----------------------------------------------------------------------------------------------
# Query language


class QuerySyntaxError(ValueError):
    """A `search_query` the grammar cannot read; the fake answers it with HTTP 400."""


@dataclass(frozen=True)
class Token:
    """One lexical unit of a query: `(`, `)`, `op`, `field`, `term`, `phrase` or `range`."""

    kind: str
    text: str
    pos: int


_FIELD_PREFIX = re.compile(r"([A-Za-z][A-Za-z_]*):")


def tokenize(query: str) -> list[Token]:
    """Split a `search_query` into tokens; raises `QuerySyntaxError` on unclosed quotes/ranges."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    after_field = False
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(Token(ch, ch, i))
            after_field = False
            i += 1
            continue
        if ch in '"[':
            close = '"' if ch == '"' else "]"
            end = query.find(close, i + 1)
            if end < 0:
                what = "phrase" if ch == '"' else "range"
                raise QuerySyntaxError(f"unterminated {what} at position {i}")
            tokens.append(Token("phrase" if ch == '"' else "range", query[i + 1:end], i))
            after_field = False
            i = end + 1
            continue
        # Only the first `name:` of a clause is a field: in `ti:CyCLIP: Cyclic` the second
        # colon is text, as Lucene's analyser would see it.
        if not after_field and (match := _FIELD_PREFIX.match(query, i)):
            tokens.append(Token("field", match.group(1), i))
            after_field = True
            i = match.end()
            continue
        start, chars = i, []
        while i < n and not query[i].isspace() and query[i] not in '()"':
            if query[i] == "\\" and i + 1 < n:
                chars.append(query[i + 1])
                i += 2
                continue
            chars.append(query[i])
            i += 1
        word = "".join(chars)
        kind = "op" if word in OPERATORS and not after_field else "term"
        tokens.append(Token(kind, word, start))
        after_field = False
    return tokens


Pattern = str | re.Pattern[str]


def _pattern(piece: str) -> Pattern:
    if "?" not in piece and "*" not in piece:
        return piece
    body = "".join("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in piece)
    return re.compile(body)


def _token_matches(pattern: Pattern, token: str) -> bool:
    if isinstance(pattern, str):
        return pattern == token
    return pattern.fullmatch(token) is not None


def analyse(text: str) -> tuple[str, ...]:
    """Index-side analysis: the words Lucene's standard analyser would keep."""
    return textfold.words(text)


def analyse_query(text: str, *, wildcards: bool) -> tuple[Pattern, ...]:
    """Query-side analysis of a term or phrase: words, or word patterns when wildcards apply."""
    # arXiv documents `_` as the joiner of name parts (au:del_maestro); inside TeX it is a
    # subscript, which vanishes just like it does on the index side.
    if "$" not in text and "\\" not in text:
        text = text.replace("_", " ")
    if wildcards and ("?" in text or "*" in text):
        return tuple(_pattern(piece) for piece in textfold.words(text, keep="?*"))
    return analyse(text)


class Node:
    """A parsed query; `evaluate` gives a relevance score for a match, else None."""

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """Score of `doc` against this node, None when it does not match."""
        raise NotImplementedError


@dataclass(frozen=True)
class Empty(Node):
    """A clause with no searchable words left (`ti:"?"`): Lucene drops it."""

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """Never matches on its own."""
        return None


@dataclass(frozen=True)
class TextLeaf(Node):
    """Consecutive word patterns in one value of a text field (or of any field, for `all`)."""

    field: str
    patterns: tuple[Pattern, ...]

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """Best weighted hit over the searched fields; shorter fields score higher."""
        fields = (*TEXT_FIELDS, "cat", "id") if self.field == "all" else (self.field,)
        size = len(self.patterns)
        best: float | None = None
        for name in fields:
            for words in doc.text[name]:
                if _contains(words, self.patterns):
                    score = _WEIGHTS[name] * size * (1 + size / len(words))
                    best = score if best is None else max(best, score)
        return best


@dataclass(frozen=True)
class CategoryLeaf(Node):
    """`cat:cs.CV` (whole category names, case-insensitive, wildcards allowed)."""

    pattern: Pattern

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """1.0 when any of the paper's categories matches."""
        hit = any(_token_matches(self.pattern, c.lower()) for c in doc.snapshot.categories)
        return _WEIGHTS["cat"] if hit else None


@dataclass(frozen=True)
class IdLeaf(Node):
    """`id:2408.02245` (optionally with a version, or a wildcard pattern)."""

    pattern: Pattern
    version: int | None = None

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """1.0 when the identifier (and version, if given) matches."""
        if not _token_matches(self.pattern, doc.paper.arxiv_id.lower()):
            return None
        if self.version is not None and not doc.paper.has_version(self.version):
            return None
        return _WEIGHTS["id"]


@dataclass(frozen=True)
class DateRange(Node):
    """`submittedDate:[FROM TO TO]` on v1's date, or `lastUpdatedDate:` on the latest's."""

    attribute: str
    low: dt.datetime | None
    high: dt.datetime | None

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """0.0 (a filter adds no relevance) when the date lies in the range, inclusive."""
        when: dt.datetime = getattr(doc.snapshot, self.attribute)
        minute = when.replace(second=0, microsecond=0)
        if self.low is not None and minute < self.low:
            return None
        if self.high is not None and minute > self.high:
            return None
        return 0.0


@dataclass(frozen=True)
class Or(Node):
    """Either side; relevance adds up over the sides that match."""

    left: Node
    right: Node

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """Sum of the matching sides' scores."""
        a, b = self.left.evaluate(doc), self.right.evaluate(doc)
        if a is None and b is None:
            return None
        return (a or 0.0) + (b or 0.0)


@dataclass(frozen=True)
class And(Node):
    """Both sides."""

    left: Node
    right: Node

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """Sum of both scores when both match."""
        a = self.left.evaluate(doc)
        if a is None:
            return None
        b = self.right.evaluate(doc)
        return None if b is None else a + b


@dataclass(frozen=True)
class AndNot(Node):
    """The left side without the right."""

    left: Node
    right: Node

    def evaluate(self, doc: IndexedPaper) -> float | None:
        """The left score when the right side does not match."""
        a = self.left.evaluate(doc)
        if a is None or self.right.evaluate(doc) is not None:
            return None
        return a


def _contains(words: Sequence[str], patterns: Sequence[Pattern]) -> bool:
    size = len(patterns)
    return any(
        all(_token_matches(p, words[start + k]) for k, p in enumerate(patterns))
        for start in range(len(words) - size + 1)
    )


def _combine(kind: str, left: Node, right: Node) -> Node:
    # Clauses that analysed to nothing vanish, as stop-word-only clauses do in Lucene.
    if isinstance(right, Empty):
        return left
    if isinstance(left, Empty):
        return left if kind == "ANDNOT" else right
    return {"AND": And, "OR": Or, "ANDNOT": AndNot}[kind](left, right)


def _range_bound(text: str, *, upper: bool) -> dt.datetime | None:
    if text == "*":
        return None
    if not text.isdigit() or len(text) not in (8, 12):
        raise QuerySyntaxError(f"range bounds are YYYYMMDDHHMM or YYYYMMDD, not {text!r}")
    # A bare day means the whole day: from 00:00 as a lower bound, to 23:59 as an upper one.
    full = text if len(text) == 12 else text + ("2359" if upper else "0000")
    try:
        return dt.datetime.strptime(full, "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise QuerySyntaxError(f"not a date: {text!r}") from exc


class _Parser:
    """Recursive descent over `tokenize`'s output (grammar in the module docstring)."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError(f"query ends where {expected} was expected")
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            return Empty()
        node = self.or_expr("all")
        if (token := self.peek()) is not None:
            raise QuerySyntaxError(f"unexpected {token.text!r} at position {token.pos}")
        return node

    def or_expr(self, field_name: str) -> Node:
        node = self.and_expr(field_name)
        while (token := self.peek()) is not None and token.kind != ")":
            if token.kind == "op" and token.text == "OR":
                self.i += 1
            elif token.kind == "op":
                raise QuerySyntaxError(f"unexpected {token.text} at position {token.pos}")
            node = _combine("OR", node, self.and_expr(field_name))
        return node

    def and_expr(self, field_name: str) -> Node:
        node = self.unary(field_name)
        while (token := self.peek()) is not None and token.kind == "op" and token.text != "OR":
            self.i += 1
            node = _combine(token.text, node, self.unary(field_name))
        return node

    def group(self, field_name: str) -> Node:
        if (token := self.peek()) is not None and token.kind == ")":
            raise QuerySyntaxError(f"empty parentheses at position {token.pos}")
        node = self.or_expr(field_name)
        if self.take("')'").kind != ")":
            raise QuerySyntaxError("unbalanced parentheses")
        return node

    def unary(self, field_name: str) -> Node:
        token = self.take("a term")
        if token.kind == "(":
            return self.group(field_name)
        if token.kind in ("term", "phrase"):
            return leaf(field_name, token.text, phrase=token.kind == "phrase")
        if token.kind == "field":
            return self.fielded(token)
        raise QuerySyntaxError(f"unexpected {token.text!r} at position {token.pos}")

    def fielded(self, prefix: Token) -> Node:
        name = prefix.text
        token = self.take(f"a term after {name}:")
        if name in RANGE_FIELDS:
            if token.kind != "range":
                raise QuerySyntaxError(f"{name}: takes a range [FROM TO TO]")
            parts = token.text.split()
            if len(parts) != 3 or parts[1] != "TO":
                raise QuerySyntaxError(f"malformed range [{token.text}]")
            low = _range_bound(parts[0], upper=False)
            high = _range_bound(parts[2], upper=True)
            return DateRange(RANGE_FIELDS[name], low, high)
        # arXiv's own parser would find nothing in an unknown field; searching everything keeps
        # a stray "Word:" from a raw title from silently emptying the query.
        target = name if name in FIELDS else "all"
        if token.kind == "(":
            return self.group(target)
        if token.kind in ("term", "phrase"):
            return leaf(target, token.text, phrase=token.kind == "phrase")
        raise QuerySyntaxError(f"unexpected {token.text!r} after {name}: at {token.pos}")


def leaf(field_name: str, text: str, *, phrase: bool) -> Node:
    """The node for one term or phrase in a field."""
    if field_name == "cat":
        raw = text.strip().lower()
        return CategoryLeaf(_pattern(raw)) if raw else Empty()
    if field_name == "id":
        raw = text.strip()
        try:
            base, version = textfold.split_id(raw)
        except ValueError:
            return IdLeaf(_pattern(raw.lower())) if raw else Empty()
        return IdLeaf(base.lower(), version)
    patterns = analyse_query(text, wildcards=not phrase)
    return TextLeaf(field_name, patterns) if patterns else Empty()


def parse_query(query: str) -> Node:
    """Parse a `search_query`; raises `QuerySyntaxError` when the grammar cannot read it."""
    return _Parser(tokenize(query)).parse()


# ----------------------------------------------------------------------------------------------
# The index and the API's answers


@dataclass(frozen=True)
class IndexedPaper:
    """A paper's latest version, analysed once per field for searching."""

    paper: FakePaper
    snapshot: Snapshot
    text: Mapping[str, tuple[tuple[str, ...], ...]]


def index_paper(paper: FakePaper) -> IndexedPaper:
    """Analyse the paper's latest version into per-field word sequences."""
    snap = paper.snapshot()
    values = {
        "ti": [snap.title],
        "au": list(snap.authors),
        "abs": [snap.abstract],
        "co": [snap.comment or ""],
        "jr": [snap.journal_ref or ""],
        "cat": list(snap.categories),
        "id": [paper.arxiv_id],
    }
    text = {
        name: tuple(words for words in (analyse(v) for v in vals) if words)
        for name, vals in values.items()
    }
    return IndexedPaper(paper, snap, text)


class ApiError(Exception):
    """A request arXiv refuses: answered with HTTP 400 and a one-entry `Error` feed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Page:
    """One answer: the requested slice of the results and what the feed header says."""

    entries: tuple[Snapshot, ...]
    total: int
    start: int
    max_results: int
    search_query: str
    id_list: str


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(f"{name} must be an integer") from None
    if value < 0:
        raise ApiError(f"{name} must be non-negative")
    return value


class Index:
    """The fake's search engine: answers API parameters from the corpus, without HTTP."""

    def __init__(self, papers: Iterable[FakePaper]) -> None:
        self.docs = tuple(index_paper(p) for p in papers)
        self.by_id = {d.paper.arxiv_id: d for d in self.docs}

    def answer(self, params: Mapping[str, str]) -> Page:
        """The page arXiv would return for these parameters; raises `ApiError` when it refuses."""
        start = _int_param(params, "start", 0)
        max_results = _int_param(params, "max_results", DEFAULT_MAX_RESULTS)
        if max_results > MAX_RESULTS_LIMIT:
            raise ApiError(f"max_results must not exceed {MAX_RESULTS_LIMIT}")
        sort_by = params.get("sortBy") or "relevance"
        sort_order = params.get("sortOrder") or "descending"
        if sort_by not in SORT_BY:
            raise ApiError(f"sortBy must be one of {', '.join(SORT_BY)}")
        if sort_order not in SORT_ORDER:
            raise ApiError(f"sortOrder must be one of {', '.join(SORT_ORDER)}")
        search_query = params.get("search_query", "")
        id_list = params.get("id_list", "")
        requested = self._parse_ids(id_list)
        try:
            query = parse_query(search_query) if search_query.strip() else None
        except QuerySyntaxError as exc:
            raise ApiError(f"malformed search_query: {exc}") from exc

        if requested:
            hits = self._by_ids(requested, query)
            if sort_by != "relevance":
                hits = self._sorted(hits, sort_by, sort_order)
        elif query is None:
            hits = []
        else:
            scored = [(s, d.snapshot) for d in self.docs if (s := query.evaluate(d)) is not None]
            hits = self._sorted(scored, sort_by, sort_order)
        snaps = tuple(snap for _, snap in hits)
        return Page(snaps[start:start + max_results], len(snaps), start, max_results,
                    search_query, id_list)

    @staticmethod
    def _parse_ids(id_list: str) -> list[tuple[str, int | None]]:
        ids: list[tuple[str, int | None]] = []
        for raw in id_list.split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                parsed = textfold.split_id(item)
            except ValueError:
                raise ApiError(f"incorrect id format for {item}") from None
            if parsed not in ids:
                ids.append(parsed)
        return ids

    def _by_ids(self, requested: Sequence[tuple[str, int | None]],
                query: Node | None) -> list[tuple[float, Snapshot]]:
        hits: list[tuple[float, Snapshot]] = []
        for base, version in requested:
            doc = self.by_id.get(base)
            # Unknown papers and versions are simply absent; callers find them by difference.
            if doc is None or (version is not None and not doc.paper.has_version(version)):
                continue
            score = 0.0 if query is None else query.evaluate(doc)
            if score is not None:
                hits.append((score, doc.paper.snapshot(version)))
        return hits

    @staticmethod
    def _sorted(hits: list[tuple[float, Snapshot]], sort_by: str,
                sort_order: str) -> list[tuple[float, Snapshot]]:
        def primary(hit: tuple[float, Snapshot]) -> Any:
            score, snap = hit
            if sort_by == "submittedDate":
                return snap.published
            return snap.updated if sort_by == "lastUpdatedDate" else score

        # Ties go by ascending ID in both directions (sorting is stable, also with reverse=True),
        # so equal scores never reorder between runs.
        ordered = sorted(hits, key=lambda h: h[1].arxiv_id)
        return sorted(ordered, key=primary, reverse=sort_order == "descending")


# ----------------------------------------------------------------------------------------------
# Atom


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wrap_title(title: str) -> str:
    """A title folded like arXiv's feed does it: lines joined by a newline and two spaces."""
    return "\n  ".join(textwrap.wrap(title, width=72, break_long_words=False,
                                     break_on_hyphens=False)) or title


def wrap_summary(abstract: str) -> str:
    """An abstract laid out like arXiv's `<summary>`: two leading spaces, wrapped, final newline."""
    lines = textwrap.wrap(abstract, width=78, break_long_words=False, break_on_hyphens=False)
    return "  " + "\n".join(lines) + "\n"


def _feed_root(search_query: str, id_list: str, start: int, max_results: int,
               total: int) -> etree._Element:
    nsmap = {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
    feed = etree.Element(_q(ATOM_NS, "feed"), nsmap=nsmap)
    described = (f"search_query={search_query}&id_list={id_list}"
                 f"&start={start}&max_results={max_results}")
    link = etree.SubElement(feed, _q(ATOM_NS, "link"))
    link.set("href", "http://arxiv.org/api/query?" + quote(described, safe=""))
    link.set("rel", "self")
    link.set("type", "application/atom+xml")
    title = etree.SubElement(feed, _q(ATOM_NS, "title"))
    title.set("type", "html")
    title.text = f"ArXiv Query: {described}"
    digest = base64.b64encode(hashlib.sha1(described.encode()).digest()).decode().rstrip("=")
    etree.SubElement(feed, _q(ATOM_NS, "id")).text = f"http://arxiv.org/api/{digest}"
    etree.SubElement(feed, _q(ATOM_NS, "updated")).text = FEED_UPDATED
    etree.SubElement(feed, _q(OPENSEARCH_NS, "totalResults")).text = str(total)
    etree.SubElement(feed, _q(OPENSEARCH_NS, "startIndex")).text = str(start)
    etree.SubElement(feed, _q(OPENSEARCH_NS, "itemsPerPage")).text = str(max_results)
    return feed


def _add_entry(feed: etree._Element, snap: Snapshot) -> None:
    def add(parent: etree._Element, ns: str, tag: str, text: str | None = None,
            **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, _q(ns, tag))
        if text is not None:
            element.text = text
        for name, value in attrs.items():
            element.set(name, value)
        return element

    versioned = f"{snap.arxiv_id}v{snap.version}"
    entry = add(feed, ATOM_NS, "entry")
    add(entry, ATOM_NS, "id", f"http://arxiv.org/abs/{versioned}")
    add(entry, ATOM_NS, "updated", _iso(snap.updated))
    add(entry, ATOM_NS, "published", _iso(snap.published))
    add(entry, ATOM_NS, "title", wrap_title(snap.title))
    add(entry, ATOM_NS, "summary", wrap_summary(snap.abstract))
    affiliations = dict(snap.affiliations)
    for name in snap.authors:
        author = add(entry, ATOM_NS, "author")
        add(author, ATOM_NS, "name", name)
        if name in affiliations:
            add(author, ARXIV_NS, "affiliation", affiliations[name])
    if snap.doi:
        add(entry, ARXIV_NS, "doi", snap.doi)
    add(entry, ATOM_NS, "link", href=f"http://arxiv.org/abs/{versioned}", rel="alternate",
        type="text/html")
    add(entry, ATOM_NS, "link", title="pdf", href=f"http://arxiv.org/pdf/{versioned}",
        rel="related", type="application/pdf")
    if snap.doi:
        add(entry, ATOM_NS, "link", title="doi", href=f"http://dx.doi.org/{snap.doi}",
            rel="related")
    if snap.comment:
        add(entry, ARXIV_NS, "comment", snap.comment)
    if snap.journal_ref:
        add(entry, ARXIV_NS, "journal_ref", snap.journal_ref)
    add(entry, ARXIV_NS, "primary_category", term=snap.primary_category, scheme=ARXIV_NS)
    for category in snap.categories:
        add(entry, ATOM_NS, "category", term=category, scheme=ARXIV_NS)


def _serialise(feed: etree._Element) -> bytes:
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def render_feed(page: Page) -> bytes:
    """The Atom document for a page of results."""
    feed = _feed_root(page.search_query, page.id_list, page.start, page.max_results, page.total)
    for snap in page.entries:
        _add_entry(feed, snap)
    return _serialise(feed)


def render_empty(params: Mapping[str, str]) -> bytes:
    """A well-formed feed with no entries and totalResults 0 (arXiv's transient empty answer)."""
    start = params.get("start", "0") or "0"
    max_results = params.get("max_results", str(DEFAULT_MAX_RESULTS))
    feed = _feed_root(params.get("search_query", ""), params.get("id_list", ""),
                      int(start) if start.isdigit() else 0,
                      int(max_results) if max_results.isdigit() else DEFAULT_MAX_RESULTS, 0)
    return _serialise(feed)


def render_error(message: str, params: Mapping[str, str]) -> bytes:
    """arXiv's error answer: a feed whose single entry is titled `Error`."""
    feed = _feed_root(params.get("search_query", ""), params.get("id_list", ""), 0, 1, 1)
    anchor = "http://arxiv.org/api/errors#" + re.sub(r"\s+", "_", message.strip())
    entry = etree.SubElement(feed, _q(ATOM_NS, "entry"))
    etree.SubElement(entry, _q(ATOM_NS, "id")).text = anchor
    etree.SubElement(entry, _q(ATOM_NS, "title")).text = "Error"
    etree.SubElement(entry, _q(ATOM_NS, "summary")).text = message
    etree.SubElement(entry, _q(ATOM_NS, "updated")).text = FEED_UPDATED
    link = etree.SubElement(entry, _q(ATOM_NS, "link"))
    link.set("href", anchor)
    link.set("rel", "alternate")
    link.set("type", "text/html")
    author = etree.SubElement(entry, _q(ATOM_NS, "author"))
    etree.SubElement(author, _q(ATOM_NS, "name")).text = "arXiv api core"
    return _serialise(feed)


def respond(index: Index, params: Mapping[str, str]) -> tuple[int, bytes, int]:
    """arXiv's answer to these API parameters: 200 and a feed, or 400 and an `Error` feed,
    with the number of entries in it (what the scale benchmark counts as served).

    What the server sends for a request without a fault, and what unit tests answer with in
    process (`tests.support.transports.arxiv_search`).
    """
    try:
        page = index.answer(params)
    except ApiError as exc:
        return 400, render_error(exc.message, params), 0
    return 200, render_feed(page), len(page.entries)


_FEED_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n{doctype}'
    f'<feed xmlns="{ATOM_NS}" xmlns:opensearch="{OPENSEARCH_NS}" xmlns:arxiv="{ARXIV_NS}">\n'
    '  <title type="html">ArXiv Query: hostile</title>\n'
    f"  <updated>{FEED_UPDATED}</updated>\n"
    "  <opensearch:totalResults>1</opensearch:totalResults>\n"
    "  <opensearch:startIndex>0</opensearch:startIndex>\n"
    "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
    "  <entry>\n    <id>http://arxiv.org/abs/2408.02245v2</id>\n"
    "    <updated>2024-10-14T12:00:00Z</updated>\n"
    "    <published>2024-08-05T12:00:00Z</published>\n"
)
_FEED_CLOSE = "\n  </entry>\n</feed>\n"


def _hostile(doctype: str, inner: str) -> bytes:
    return (_FEED_OPEN.format(doctype=doctype) + inner + _FEED_CLOSE).encode()


def billion_laughs() -> bytes:
    """A feed whose title expands to 10**9 copies of 'lol' if entities are resolved."""
    levels = ['  <!ENTITY lol0 "lol">']
    levels += [f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE feed [\n" + "\n".join(levels) + "\n]>\n"
    return _hostile(doctype, "    <title>&lol9;</title>\n    <summary>laughs</summary>")


def xxe() -> bytes:
    """A feed whose summary pulls in /etc/passwd if external entities are resolved."""
    doctype = '<!DOCTYPE feed [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    return _hostile(doctype, "    <title>XXE</title>\n    <summary>&xxe;</summary>")


def huge_parts(size: int) -> tuple[bytes, int, bytes]:
    """Head, padding length and tail of a well-formed feed of exactly `size` bytes (if it fits)."""
    head = _FEED_OPEN.format(doctype="").encode() + b"    <title>Huge</title>\n    <summary>"
    tail = b"</summary>" + _FEED_CLOSE.encode()
    return head, max(0, size - len(head) - len(tail)), tail


# ----------------------------------------------------------------------------------------------
# Faults

FAULT_KINDS = (
    "503", "429", "429-bare", "empty", "truncated", "malformed", "reset", "slow",
    "billion-laughs", "xxe", "huge", "wrong-type",
)


@dataclass(frozen=True)
class Fault:
    """One injected fault: a kind and an optional argument (`429:7`, `slow:0.5`, `huge:1048576`).

    The argument is Retry-After seconds for `429`, the delay for `slow`, the body size in bytes
    for `huge`; without one the fake's defaults apply.
    """

    kind: str
    arg: float | None = None

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read `kind` or `kind:arg`; raises ValueError for an unknown kind or a bad argument."""
        kind, _, arg = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds are {', '.join(FAULT_KINDS)}")
        try:
            return cls(kind, float(arg) if arg else None)
        except ValueError:
            raise ValueError(f"bad argument in fault {spec!r}") from None

    def __str__(self) -> str:
        if self.arg is None:
            return self.kind
        return f"{self.kind}:{self.arg:g}"


class FaultPlan:
    """Seeded random faults: each request draws one of `kinds` with probability `rate`.

    Two uniform draws per request whatever the outcome, so the sequence of faults depends only
    on the seed and the number of requests, never on timing.
    """

    def __init__(self, rate: float, kinds: Sequence[str] = ("503", "429", "empty", "reset"),
                 seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must lie in [0, 1]")
        if not kinds:
            raise ValueError("a fault plan needs at least one kind")
        self.rate = rate
        self.kinds = tuple(str(Fault.parse(k)) for k in kinds)
        self.seed = seed
        self._rng = random.Random(seed)

    def draw(self) -> str | None:
        """The fault for the next request, or None."""
        hit, pick = self._rng.random(), self._rng.random()
        if hit >= self.rate:
            return None
        return self.kinds[int(pick * len(self.kinds))]

    def __repr__(self) -> str:
        return f"FaultPlan(rate={self.rate}, kinds={self.kinds}, seed={self.seed})"


# ----------------------------------------------------------------------------------------------
# Request log


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake saw it; `end` is None while it is still in flight."""

    method: str
    path: str
    params: Mapping[str, str]
    start: float
    end: float | None
    status: int | None
    fault: str | None
    served: bool
    results: int
    note: str | None


@dataclass
class _Pending:
    method: str
    path: str
    params: dict[str, str]
    start: float
    fault: Fault | None
    end: float | None = None
    status: int | None = None
    served: bool = False
    results: int = 0
    note: str | None = None

    def freeze(self) -> RequestRecord:
        return RequestRecord(
            method=self.method, path=self.path, params=dict(self.params), start=self.start,
            end=self.end, status=self.status, fault=str(self.fault) if self.fault else None,
            served=self.served, results=self.results, note=self.note,
        )


def count_gate_violations(records: Iterable[RequestRecord], min_interval: float,
                          tolerance: float = GATE_TOLERANCE) -> int:
    """Requests that overlapped an earlier one or started under `min_interval` after it.

    Each request counts at most once. `tolerance` forgives the few milliseconds between the
    client's gate and the server's timestamps (see GATE_TOLERANCE).
    """
    ordered = sorted(records, key=lambda r: r.start)
    violations = 0
    latest_end = float("-inf")
    for previous, current in itertools.pairwise(ordered):
        latest_end = max(latest_end, float("inf") if previous.end is None else previous.end)
        overlapped = current.start < latest_end - tolerance
        too_soon = current.start - previous.start < min_interval - tolerance
        violations += overlapped or too_soon
    return violations


# ----------------------------------------------------------------------------------------------
# HTTP


_HTML_503 = (b"<html><head><title>503 Service Unavailable</title></head>"
             b"<body><h1>Service Unavailable</h1></body></html>\n")
_HTML_ERROR = (b"<!DOCTYPE html>\n<html><head><title>arXiv - Internal error</title></head>"
               b"<body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>\n")
_CHUNK = 1 << 16


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: FakeArxiv) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the fake what to do, writes the answer (or the fault)."""

    protocol_version = "HTTP/1.1"  # keep-alive, like arXiv's front end
    server_version = "FakeArxiv/1.0"
    timeout = 30  # idle keep-alive connections end on their own
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the fake keeps its own structured log."""

    def do_GET(self) -> None:
        """`GET /api/query?…`."""
        self._handle("GET")

    def do_POST(self) -> None:
        """`POST /api/query` with a form body (long id_lists)."""
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = urlsplit(self.path)
        params = dict(parse_qsl(target.query, keep_blank_values=True))
        form_error = None
        if body:
            if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            else:
                form_error = "POST body must be application/x-www-form-urlencoded"
        pending = fake._begin(method, target.path, params, is_api=target.path == API_PATH)
        try:
            if target.path != API_PATH:
                self._send(pending, 404, "text/plain; charset=utf-8", b"Not Found\n")
            elif form_error:
                self._send(pending, 400, ATOM_CONTENT_TYPE, render_error(form_error, params))
            elif pending.fault is not None:
                self._fault(pending)
            else:
                self._answer(pending)
        except OSError:
            # The client gave up (e.g. on an oversized body) or stop() cut the connection:
            # nothing more to send, and no traceback on stderr.
            pending.note = pending.note or "client disconnected"
            self.close_connection = True
        finally:
            fake._finish(pending)

    def _answer(self, pending: _Pending, content_type: str = ATOM_CONTENT_TYPE, *,
                served: bool = True) -> None:
        status, body, pending.results = respond(self.server.fake.index, pending.params)
        self._send(pending, status, content_type if status == 200 else ATOM_CONTENT_TYPE, body,
                   served=served and status == 200)

    def _send(self, pending: _Pending, status: int, content_type: str, body: bytes, *,
              served: bool = False, headers: Mapping[str, str] | None = None) -> None:
        head = self._head(status, content_type, len(body), headers)
        # The record closes before the bytes leave: a client can only react to a response
        # after it is sent, so tests that read the log afterwards never race the server.
        self.server.fake._finish(pending, status=status, served=served)
        self.wfile.write(head + body)

    def _head(self, status: int, content_type: str, length: int,
              headers: Mapping[str, str] | None = None) -> bytes:
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {length}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _fault(self, pending: _Pending) -> None:
        fake = self.server.fake
        fault = pending.fault
        assert fault is not None
        kind, arg = fault.kind, fault.arg
        actions: dict[str, Callable[[], None]] = {
            "503": lambda: self._send(pending, 503, HTML_CONTENT_TYPE, _HTML_503),
            "429": lambda: self._send(
                pending, 429, "text/plain; charset=utf-8", b"Rate exceeded.\n",
                headers={"Retry-After": str(round(arg if arg is not None else fake.retry_after))},
            ),
            "429-bare": lambda: self._send(pending, 429, "text/plain; charset=utf-8",
                                           b"Rate exceeded.\n"),
            "empty": lambda: self._send(pending, 200, ATOM_CONTENT_TYPE,
                                        render_empty(pending.params)),
            "truncated": lambda: self._truncated(pending),
            "malformed": lambda: self._send(pending, 200, HTML_CONTENT_TYPE, _HTML_ERROR),
            "reset": lambda: self._reset(pending),
            "slow": lambda: self._slow(pending, fake.slow_seconds if arg is None else arg),
            "billion-laughs": lambda: self._send(pending, 200, ATOM_CONTENT_TYPE,
                                                 billion_laughs()),
            "xxe": lambda: self._send(pending, 200, ATOM_CONTENT_TYPE, xxe()),
            "huge": lambda: self._huge(pending, int(fake.huge_bytes if arg is None else arg)),
            "wrong-type": lambda: self._answer(pending, HTML_CONTENT_TYPE, served=False),
        }
        actions[kind]()

    def _truncated(self, pending: _Pending) -> None:
        _, body, _ = respond(self.server.fake.index, pending.params)
        # Cut inside the document but send an honest Content-Length: the HTTP exchange
        # completes and only the XML is broken, as with a proxy that gave up mid-stream.
        self._send(pending, 200, ATOM_CONTENT_TYPE, body[: max(1, len(body) // 2)])

    def _reset(self, pending: _Pending) -> None:
        pending.note = "connection reset"
        self.server.fake._finish(pending, status=None)
        self.close_connection = True
        # SO_LINGER 0 makes close() send RST instead of FIN: the client sees a reset, not EOF.
        with suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        with suppress(OSError):
            self.rfile.close()
            self.connection.close()

    def _slow(self, pending: _Pending, delay: float) -> None:
        if self.server.fake._stopping.wait(delay):
            self._reset(pending)  # the fake is shutting down; do not hold the test up
            return
        self._answer(pending)

    def _huge(self, pending: _Pending, size: int) -> None:
        head, padding, tail = huge_parts(size)
        total = len(head) + padding + len(tail)
        self.close_connection = True
        pending.status = 200
        self.wfile.write(self._head(200, ATOM_CONTENT_TYPE, total) + head)
        chunk = b"A" * _CHUNK
        remaining = padding
        while remaining > 0:
            if self.server.fake._stopping.is_set():
                pending.note = "aborted by stop()"
                return
            self.wfile.write(chunk[: min(_CHUNK, remaining)])
            remaining -= _CHUNK
        self.wfile.write(tail)
        pending.note = f"sent {total} bytes"


class FakeArxiv:
    """The loopback arXiv API: start it, point `ARXIV_API_URL` at `.url`, read its log.

    Use as a context manager or call `start()`/`stop()`. Every request is logged (see
    `requests`); faults come first from the script (`enqueue_faults`), then from `fault_plan`.
    """

    def __init__(self, corpus: Iterable[FakePaper] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, retry_after: int = 3, slow_seconds: float = 1.0,
                 huge_bytes: int = 64 * 1024 * 1024, fault_plan: FaultPlan | None = None) -> None:
        self.index = Index(load_corpus() if corpus is None else corpus)
        self.host = host
        self.port = port
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.fault_plan = fault_plan
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._faults: collections.deque[Fault] = collections.deque()
        self._log: list[_Pending] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeArxiv:
        """Bind 127.0.0.1 (port 0 picks a free one) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeArxiv is already running")
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-arxiv-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (slow and streaming faults end at once)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self.wait_idle(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeArxiv:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The query endpoint, `http://127.0.0.1:PORT/api/query` (what ARXIV_API_URL is set to)."""
        if self._server is None:
            raise RuntimeError("FakeArxiv is not running; call start() first")
        return f"http://{self.host}:{self.port}{API_PATH}"

    # -- faults ------------------------------------------------------------------------------

    def enqueue_faults(self, specs: Iterable[str]) -> None:
        """Script the next requests' faults in order: `"503"`, `"ok"` (no fault), `"429:7"`…

        Only requests to the query endpoint use up scripted faults; the script wins over
        `fault_plan`, which is consulted only when the script is empty.
        """
        parsed = [None if s == "ok" else Fault.parse(s) for s in specs]
        with self._lock:
            for fault in parsed:
                # "ok" holds a place in the script so that later faults hit later requests.
                self._faults.append(fault if fault is not None else Fault("ok"))

    def clear_faults(self) -> None:
        """Drop scripted faults that have not been used yet."""
        with self._lock:
            self._faults.clear()

    # -- log ---------------------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request since start or `reset_log()`, in arrival order."""
        with self._lock:
            return tuple(p.freeze() for p in self._log)

    @property
    def request_count(self) -> int:
        """How many requests arrived (faults included)."""
        with self._lock:
            return len(self._log)

    @property
    def served_count(self) -> int:
        """How many requests received a real result feed (faults other than `slow` excluded)."""
        with self._lock:
            return sum(p.served for p in self._log)

    @property
    def max_in_flight(self) -> int:
        """The most requests the fake was handling at the same moment."""
        with self._lock:
            return self._max_in_flight

    def gate_violations(self, min_interval: float) -> int:
        """Requests that overlapped another or started < `min_interval` after the previous one.

        Timestamps are `time.monotonic()` on the server; GATE_TOLERANCE (5 ms) is forgiven.
        """
        return count_gate_violations(self.requests, min_interval)

    def reset_log(self) -> None:
        """Forget logged requests and the in-flight maximum (requests in flight stay counted)."""
        with self._lock:
            self._log = [p for p in self._log if p.end is None]
            self._max_in_flight = self._in_flight

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is in flight; False if that did not happen within `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # -- used by the handler -----------------------------------------------------------------

    def _begin(self, method: str, path: str, params: dict[str, str], *,
               is_api: bool) -> _Pending:
        with self._lock:
            fault = None
            if is_api and self._faults:
                fault = self._faults.popleft()
            elif is_api and self.fault_plan is not None:
                drawn = self.fault_plan.draw()
                fault = Fault.parse(drawn) if drawn else None
            pending = _Pending(method, path, params, time.monotonic(),
                               None if fault is None or fault.kind == "ok" else fault)
            self._log.append(pending)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return pending

    def _finish(self, pending: _Pending, *, status: int | None = None,
                served: bool = False) -> None:
        with self._lock:
            if pending.end is not None:
                return
            pending.end = time.monotonic()
            pending.status = status if status is not None else pending.status
            pending.served = served
            self._in_flight -= 1
            self._idle.notify_all()

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake on a fixed port until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=None, help="corpus JSON (default fixture)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-kinds", default="503,429,empty,reset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-after", type=int, default=3)
    args = parser.parse_args(argv)
    plan = None
    if args.fault_rate > 0:
        plan = FaultPlan(args.fault_rate, tuple(args.fault_kinds.split(",")), args.seed)
    fake = FakeArxiv(load_corpus(args.corpus), host=args.host, port=args.port,
                     retry_after=args.retry_after, fault_plan=plan)
    with fake:
        print(f"fake arXiv API at {fake.url} ({len(fake.index.docs)} papers); Ctrl-C stops",
              flush=True)
        serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""An inverted word index in front of the fake arXiv's linear scan, for large corpora.

The fake arXiv's search evaluates every query against every paper, which makes serving a
corpus of thousands quadratic. `IndexedSearch` answers exactly what that scan answers, faster;
`indexed_fake_arxiv` is a `FakeArxiv` that searches with it (what `python -m bench` serves).
Checked against the scan in `tests/test_indexed_search.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from tests.fakes.arxiv_api import (
    TEXT_FIELDS,
    And,
    AndNot,
    Empty,
    FakeArxiv,
    Index,
    IndexedPaper,
    Node,
    Or,
    QuerySyntaxError,
    TextLeaf,
    parse_query,
)
from tests.fakes.arxiv_corpus import FakePaper


def indexed_fake_arxiv(papers: Iterable[FakePaper], **options: Any) -> FakeArxiv:
    """A `FakeArxiv` (not started) serving `papers` through an `IndexedSearch`."""
    fake = FakeArxiv(papers, **options)
    fake.index = IndexedSearch(fake.index)
    return fake


class IndexedSearch(Index):
    """The fake arXiv's `Index` with an inverted word index in front of its linear scan.

    `Index.answer` evaluates the query against every paper. Here the query's tree first gives a
    superset of the papers that can match (a text leaf needs each of its literal words in the
    field; OR unites, AND intersects, ANDNOT keeps its left side; date, category and ID leaves
    do not narrow), and the same `answer` then scans only those. Results and their order are
    the scan's: ties are broken by ID, never by scan order.
    """

    def __init__(self, base: Index) -> None:
        self._all = base.docs
        self.by_id = base.by_id
        self._local = threading.local()
        self._postings: dict[tuple[str, str], set[int]] = {}
        for position, doc in enumerate(self._all):
            for name, values in doc.text.items():
                for words in values:
                    for word in words:
                        self._postings.setdefault((name, word), set()).add(position)
                        self._postings.setdefault(("all", word), set()).add(position)

    @property
    def docs(self) -> tuple[IndexedPaper, ...]:  # type: ignore[override]
        narrowed: tuple[IndexedPaper, ...] | None = getattr(self._local, "docs", None)
        return self._all if narrowed is None else narrowed

    def answer(self, params: Mapping[str, str]) -> Any:
        """The scan's answer, computed over the papers the query can match."""
        text = params.get("search_query", "")
        try:
            node = parse_query(text) if text.strip() else None
        except QuerySyntaxError:
            node = None  # the scan refuses it with the fake's own error
        wanted = self._candidates(node) if node is not None else None
        self._local.docs = None if wanted is None else tuple(self._all[i] for i in
                                                             sorted(wanted))
        try:
            return super().answer(params)
        finally:
            self._local.docs = None

    def _candidates(self, node: Node) -> set[int] | None:
        """Positions of papers `node` can match; None when it does not narrow the corpus."""
        if isinstance(node, Empty):
            return set()
        if isinstance(node, TextLeaf):
            fields = ("all",) if node.field == "all" else (node.field,)
            literal = [p for p in node.patterns if isinstance(p, str)]
            if not literal or fields[0] not in (*TEXT_FIELDS, "all"):
                return None
            found: set[int] | None = None
            for word in literal:
                hits = self._postings.get((fields[0], word), set())
                found = set(hits) if found is None else found & hits
            return found or set()
        if isinstance(node, Or):
            left, right = self._candidates(node.left), self._candidates(node.right)
            return None if left is None or right is None else left | right
        if isinstance(node, And):
            left, right = self._candidates(node.left), self._candidates(node.right)
            if left is None or right is None:
                return right if left is None else left
            return left & right
        if isinstance(node, AndNot):
            return self._candidates(node.left)
        return None  # date ranges, categories, IDs

"""The citation-key registry: every key ever issued, kept for ever.

Users cite keys in their papers, so a key that changes silently breaks their documents. The
registry keeps every key issued in the state store (`output/.state`), in two namespaces:

    citekey        paper key (e.g. "arxiv:2205.14459") → {"citekey": …}   what each paper has
    citekey-owner  citekey → {"paper": …}                                  who owns each key

A paper that already has a key keeps it, even when its title or authors change on arXiv. A
newcomer whose base (`enrich.render.citekeys.key_base`) is taken gets the first free suffix; the
existing key is never renamed.

Concurrency: claiming a key is one `put_if_absent` on the owner namespace, and recording it on
the paper another — each a `BEGIN IMMEDIATE` SQLite transaction, i.e. an atomic
compare-and-set. Two processes issuing keys at once therefore never give one key to two papers
nor two keys to one paper (the first key recorded for a paper wins; a key the loser reserved
stays reserved to that same paper, so a rerun or a crashed run reuses it). Claims are short
transactions rather than one per batch so that a large backfill never holds the database's
write lock while other workers wait.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from enrich.render.citekeys import arrival, key_base, suffixes
from enrich.render.model import Paper
from enrich.store.db import StateStore

log = logging.getLogger(__name__)

KEY_NS = "citekey"
OWNER_NS = "citekey-owner"


class KeyRegistry:
    """Issues citation keys and remembers them in the state store (see the module docstring)."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    def existing(self, paper_keys: Iterable[str]) -> dict[str, str]:
        """Keys already issued, by paper key."""
        return {k: str(v["citekey"]) for k, v in self.state.get_many(KEY_NS, paper_keys).items()}

    def assign(self, papers: Sequence[Paper]) -> dict[str, str]:
        """The key of every paper (by paper key): the one it was issued before, or a new one.

        Newcomers are served in a fixed order (base key, first publication, arXiv ID, paper
        key), so which of two colliding newcomers gets the suffix does not depend on the order
        the caller passes them in.
        """
        unique = {p.key: p for p in papers}
        keys = self.existing(unique)
        newcomers = sorted((p for k, p in unique.items() if k not in keys), key=arrival)
        for paper in newcomers:
            keys[paper.key] = self.issue(paper)
        return dict(sorted(keys.items()))

    def issue(self, paper: Paper) -> str:
        """The paper's key: the one already stored, else the first free suffix of its base."""
        stored = self.state.get(KEY_NS, paper.key)
        if stored is not None:
            return str(stored["citekey"])
        base = key_base(paper)
        for suffix in suffixes():
            candidate = base + suffix
            owner = self.state.put_if_absent(OWNER_NS, candidate, {"paper": paper.key})
            if owner.get("paper") != paper.key:
                continue
            # We own the candidate. Another process may have given this paper a key meanwhile:
            # the first one recorded wins, and ours stays reserved to the same paper.
            record = self.state.put_if_absent(KEY_NS, paper.key, {"citekey": candidate})
            issued = str(record["citekey"])
            if issued != candidate:
                log.debug("paper %s was keyed %s concurrently", paper.key, issued)
            elif suffix:
                log.info("key %s was taken; paper %s gets %s", base, paper.key, candidate)
            return issued
        raise AssertionError("unreachable: suffixes() never ends")  # pragma: no cover

"""Deciding which arXiv paper a digest entry is — or that we cannot say (pure).

The rules put precision first: a wrong arXiv ID in someone's bibliography is worse than none.
A candidate is accepted only when

* its title agrees with the digest's (high similarity *and* no significant word on either side
  left unexplained — so a title that is a prefix of a longer one does not match it),
* at least one author agrees — same surname, compatible first initial (the same title by
  other people is another paper) — and when fewer than half of the digest's authors do, the
  abstracts agree as well (one "Wang" in common is chance, not evidence),
* it existed on the digest's date (a later paper by the same people is not in an older digest),
* and no runner-up that also passes is close behind (then the verdict is `ambiguous`).

Papers retitled after the digest cannot be found by title; for them `decide_by_authors`
weighs author agreement and how much of the digest's abstract the candidate's abstract contains.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from enrich.resolve.model import ArxivMatch, ArxivPaper, Candidate, EntryQuery, MatchMethod
from enrich.text.names import family_key, person_key, two_names
from enrich.text.normalise import STOPWORDS, normalise_title

# Title similarity (0..1) a title must reach, besides having no unexplained words.
TITLE_AGREES = 0.90
# A typo'd word still counts as the same word at this similarity (e.g. traning ~ training).
WORD_AGREES = 0.80
# Two passing candidates whose scores are closer than this are indistinguishable.
RUNNER_UP_MARGIN = 0.05
# A paper's v1 may carry the next UTC day relative to the digest's (Beijing) date.
DATE_SLACK = dt.timedelta(days=1)
# Author-window fallback: enough of the digest's abstract must reappear in the candidate's.
ABSTRACT_AGREES = 0.5
AUTHORS_AGREE = 0.5
# How many candidates a verdict keeps for the record.
KEEP_CANDIDATES = 5


def fingerprint(query: EntryQuery) -> str:
    """Stable key of what the digest says about a paper (title, authors, ID hint).

    Two digest entries of the same paper share it, so they share one lookup and one verdict.
    """
    basis = [normalise_title(query.title), sorted(family_key(a) for a in query.authors),
             query.arxiv_id_hint or ""]
    return hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# Measures


def title_similarity(a: str, b: str) -> float:
    """0..1 similarity of two titles after normalisation; word order does not matter."""
    na, nb = normalise_title(a), normalise_title(b)
    if not na or not nb:
        return 0.0
    return max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb)) / 100.0


def _unexplained(words: Iterable[str], other_words: list[str], other_joined: str) -> list[str]:
    """Significant words with no counterpart on the other side (equal, typo, or compound)."""
    missing = []
    for word in words:
        if word in STOPWORDS or word in other_words:
            continue
        if len(word) >= 3 and word in other_joined:
            continue  # compounds: "pre training" ~ "pretraining"
        if len(word) >= 5 and any(
            fuzz.ratio(word, other) / 100.0 >= WORD_AGREES for other in other_words
        ):
            continue
        missing.append(word)
    return missing


def titles_agree(a: str, b: str) -> bool:
    """True when two titles name the same paper: similar, and no word unexplained either way."""
    if title_similarity(a, b) < TITLE_AGREES:
        return False
    wa, wb = normalise_title(a).split(), normalise_title(b).split()
    return not _unexplained(wa, wb, "".join(wb)) and not _unexplained(wb, wa, "".join(wa))


def shared_authors(digest_authors: Sequence[str], arxiv_authors: Sequence[str]) -> int:
    """How many of the digest's authors appear among the arXiv authors.

    Same surname, and the same first initial where both names have one: "Lars Huang" is not
    "Kwame Huang". Common surnames (Wang, Li, Kim) are shared by chance so often that a
    surname alone would let the same title by another group through. A name written family
    name first ("Zhang Wei" for "Wei Zhang") agrees when both of its words do.
    """
    theirs = [person_key(n) for n in arxiv_authors]
    their_pairs = {p for n in arxiv_authors if (p := two_names(n)) is not None}
    shared = 0
    for name in digest_authors:
        last, initial = person_key(name)
        same_person = last and any(
            last == other_last and (not initial or not other_initial or initial == other_initial)
            for other_last, other_initial in theirs)
        if same_person or ((pair := two_names(name)) is not None and pair in their_pairs):
            shared += 1
    return shared


def author_agreement(digest_authors: Sequence[str], arxiv_authors: Sequence[str]) -> float:
    """Fraction (0..1) of the digest's authors found on the arXiv paper."""
    if not digest_authors:
        return 0.0
    return shared_authors(digest_authors, arxiv_authors) / len(digest_authors)


@functools.lru_cache(maxsize=1024)
def _shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    # Remembered: an entry's abstract meets every candidate, a candidate's every entry.
    words = normalise_title(text).split()
    return frozenset(tuple(words[i:i + size]) for i in range(max(0, len(words) - size + 1)))


def abstract_containment(digest_abstract: str, arxiv_abstract: str) -> float:
    """Share (0..1) of the digest abstract's word triples found in the arXiv abstract.

    Containment rather than symmetric similarity: digests often cut abstracts short.
    """
    mine = _shingles(digest_abstract)
    if not mine:
        return 0.0
    return len(mine & _shingles(arxiv_abstract)) / len(mine)


def implausible(paper: ArxivPaper, digest_date: dt.date | None) -> str | None:
    """Why the paper cannot be in a digest of that date, or None."""
    if digest_date is None:
        return None
    if paper.published.date() > digest_date + DATE_SLACK:
        return f"first published {paper.published.date()}, after the digest ({digest_date})"
    return None


# --------------------------------------------------------------------------------------------
# Verdicts


def _candidate(query: EntryQuery, paper: ArxivPaper, score: float,
               rejected: str | None) -> Candidate:
    return Candidate(
        arxiv_id=paper.arxiv_id, title=paper.title, score=round(score, 4),
        title_similarity=round(title_similarity(query.title, paper.title), 4),
        shared_authors=shared_authors(query.authors, paper.authors), rejected=rejected,
    )


def _title_reason(query: EntryQuery, paper: ArxivPaper) -> str | None:
    if (why := implausible(paper, query.date)) is not None:
        return why
    if not titles_agree(query.title, paper.title):
        return "title differs"
    if query.authors and shared_authors(query.authors, paper.authors) == 0:
        return "no author in common"
    if not query.authors:
        return "the digest names no authors to confirm the title"
    if (author_agreement(query.authors, paper.authors) < AUTHORS_AGREE
            and query.abstract and paper.abstract
            and abstract_containment(query.abstract, paper.abstract) < ABSTRACT_AGREES):
        # One shared name among many is weak (common surnames); the abstract must then agree.
        return "few authors in common and the abstract differs"
    return None


def _verdict(scored: list[tuple[float, ArxivPaper, str | None]], query: EntryQuery,
             method: MatchMethod, *, unsure_when_unconfirmed: bool) -> ArxivMatch:
    """Pick the clear winner among passing candidates; keep the best few for the record."""
    unique: dict[str, tuple[float, ArxivPaper, str | None]] = {}
    for item in scored:
        known = unique.get(item[1].arxiv_id)
        if known is None or item[0] > known[0]:
            unique[item[1].arxiv_id] = item
    ranked = sorted(unique.values(), key=lambda s: (s[2] is not None, -s[0], s[1].arxiv_id))
    kept = tuple(_candidate(query, p, s, why) for s, p, why in ranked[:KEEP_CANDIDATES])
    passing = [(s, p) for s, p, why in ranked if why is None]
    if not passing:
        unconfirmed = [p for s, p, why in ranked if why and why.startswith("the digest names no")]
        status = "ambiguous" if unconfirmed and unsure_when_unconfirmed else "not_found"
        return ArxivMatch(status=status, method=method if kept else None, candidates=kept)
    best_score, best = passing[0]
    if len(passing) > 1 and best_score - passing[1][0] < RUNNER_UP_MARGIN:
        return ArxivMatch(status="ambiguous", method=method, score=round(best_score, 4),
                          candidates=kept)
    return ArxivMatch(status="matched", method=method, score=round(best_score, 4),
                      candidates=kept, paper=best)


def _title_score(query: EntryQuery, paper: ArxivPaper) -> float:
    return (0.75 * title_similarity(query.title, paper.title)
            + 0.25 * author_agreement(query.authors, paper.authors))


def decide_by_title(query: EntryQuery, papers: Iterable[ArxivPaper],
                    method: MatchMethod = "title-batch") -> ArxivMatch:
    """Verdict from candidates found by title: agreeing title, shared author, plausible date."""
    scored = [(_title_score(query, p), p, _title_reason(query, p)) for p in papers]
    scored = [s for s in scored if s[0] >= 0.5 or s[2] is None]  # keep the record readable
    return _verdict(scored, query, method, unsure_when_unconfirmed=True)


def decide_by_hint(query: EntryQuery, paper: ArxivPaper) -> ArxivMatch | None:
    """Accept the paper the digest's own arXiv link names, unless it is plainly another paper.

    The hint is strong evidence, but a typo'd link must not put a stranger's paper in the
    bibliography: the title must agree, or (for papers retitled later) half the authors or
    more must agree together with the abstract, or with a similar title and the same first
    author. None means: not this paper, search by title.
    """
    if implausible(paper, query.date):
        return None
    similarity = title_similarity(query.title, paper.title)
    agreement = author_agreement(query.authors, paper.authors)
    same_title = titles_agree(query.title, paper.title)
    # A similar title with half the authors is also what a *neighbouring* paper of the same
    # group looks like ("X" vs "X with Frequency Decomposition"): then the first author must
    # be the same person too, or the abstract must agree.
    first_agrees = bool(query.authors) and shared_authors(query.authors[:1], paper.authors) == 1
    retitled = agreement >= AUTHORS_AGREE and (
        (similarity >= 0.6 and first_agrees)
        or abstract_containment(query.abstract, paper.abstract) >= ABSTRACT_AGREES
    )
    if not (same_title and (agreement > 0 or not query.authors)) and not retitled:
        return None
    score = round(0.75 * similarity + 0.25 * agreement, 4)
    return ArxivMatch(status="matched", method="id-hint", score=score,
                      candidates=(_candidate(query, paper, score, None),), paper=paper)


def _authors_reason(query: EntryQuery, paper: ArxivPaper) -> str | None:
    if (why := implausible(paper, query.date)) is not None:
        return why
    needed = min(2, len(query.authors))
    if needed == 0:
        return "the digest names no authors"
    if (shared_authors(query.authors, paper.authors) < needed
            or author_agreement(query.authors, paper.authors) < AUTHORS_AGREE):
        return "too few authors in common"
    if (abstract_containment(query.abstract, paper.abstract) < ABSTRACT_AGREES
            and not titles_agree(query.title, paper.title)):
        return "neither abstract nor title agrees"
    return None


def decide_by_authors(query: EntryQuery, papers: Iterable[ArxivPaper]) -> ArxivMatch:
    """Verdict from an author/date-window search: authors and abstract must both agree."""
    scored = []
    for paper in papers:
        score = (0.5 * abstract_containment(query.abstract, paper.abstract)
                 + 0.3 * author_agreement(query.authors, paper.authors)
                 + 0.2 * title_similarity(query.title, paper.title))
        why = _authors_reason(query, paper)
        if why is None or score >= 0.4:
            scored.append((score, paper, why))
    return _verdict(scored, query, "author-window", unsure_when_unconfirmed=False)


def merge_not_found(*verdicts: ArxivMatch) -> ArxivMatch:
    """Combine the candidates of several unsuccessful verdicts into one `not_found` record."""
    seen: dict[str, Candidate] = {}
    for verdict in verdicts:
        for cand in verdict.candidates:
            if cand.arxiv_id not in seen or cand.score > seen[cand.arxiv_id].score:
                seen[cand.arxiv_id] = cand
    kept = sorted(seen.values(), key=lambda c: (-c.score, c.arxiv_id))[:KEEP_CANDIDATES]
    return ArxivMatch(status="not_found", candidates=tuple(kept))

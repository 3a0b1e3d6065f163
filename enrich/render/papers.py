"""Building the output records: one `Paper` per distinct paper, digest views, the report (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from enrich.digest.model import Digest, Entry, Problem
from enrich.published.model import DblpRecord, S2Record, SourceLookup
from enrich.published.venues import decide
from enrich.render.model import DigestRef, DigestView, DigestViewEntry, Paper
from enrich.repos.links import classify, extract_links, hf_links, merge_links
from enrich.repos.model import CodeLink, HfRecord, Repo
from enrich.resolve.matching import fingerprint
from enrich.resolve.model import ArxivMatch, EntryQuery
from enrich.text.normalise import normalise_title

STATUSES = ("matched", "ambiguous", "not_found", "error")
_SERVICE_NAMES = {"huggingface": "Hugging Face", "semantic_scholar": "Semantic Scholar",
                  "dblp": "dblp"}
PENDING = ArxivMatch(status="error", error="not looked up yet")


def entry_query(entry: Entry) -> EntryQuery:
    """What the matcher needs from a digest entry."""
    return EntryQuery(title=entry.title, authors=entry.authors, abstract=entry.abstract,
                      date=entry.date, arxiv_id_hint=entry.arxiv_id_hint)


def entry_fingerprint(entry: Entry) -> str:
    return fingerprint(entry_query(entry))


def paper_key(entry: Entry, match: ArxivMatch) -> str:
    """Papers are one per arXiv ID; unresolved ones are one per normalised title."""
    if match.status == "matched" and match.paper is not None:
        return f"arxiv:{match.paper.arxiv_id}"
    return f"title:{normalise_title(entry.title)}"


@dataclass(frozen=True)
class Placed:
    """An entry with the digest it came from and its verdict."""

    digest: Digest
    entry: Entry
    match: ArxivMatch

    @property
    def key(self) -> str:
        return paper_key(self.entry, self.match)


def place(digests: Iterable[Digest], matches: Mapping[str, ArxivMatch]) -> list[Placed]:
    """Every entry of every digest with its verdict (pending when none is known)."""
    placed = []
    for digest in sorted(digests, key=lambda d: d.file):
        for entry in digest.entries:
            placed.append(Placed(digest, entry, matches.get(entry_fingerprint(entry), PENDING)))
    return placed


def code_links(group: Sequence[Placed], hf: HfRecord | None = None) -> tuple[CodeLink, ...]:
    """Links from the digest text first (the URLs the parser found), then from arXiv's abstract
    and comment, then from Hugging Face Papers (`hf`, the paper's stored record). A link found
    in several places keeps the first place as its source."""
    found: list[tuple[CodeLink, ...]] = []
    for item in group:
        found.append(tuple(link for url in item.entry.code_urls
                           if (link := classify(url, "digest")) is not None))
    paper = next((i.match.paper for i in group if i.match.paper is not None), None)
    if paper is not None:
        found.append(extract_links(f"{paper.abstract}\n{paper.comment or ''}", "arxiv"))
    if hf is not None:
        found.append(hf_links(hf))
    return merge_links(*found)


def matched_paper(group: Sequence[Placed]) -> str | None:
    """The arXiv ID of a group's paper, when one of its entries is matched."""
    return next((i.match.paper.arxiv_id for i in group
                 if i.match.status == "matched" and i.match.paper is not None), None)


def hf_lookup(record: HfRecord, links: Sequence[CodeLink]) -> SourceLookup:
    """What Hugging Face contributed to a paper."""
    if record.outcome in ("error", "deferred"):
        return SourceLookup(service="huggingface", status=record.outcome,
                            read_at=record.read_at, note=record.error)
    if record.outcome == "absent":
        return SourceLookup(service="huggingface", status="absent", read_at=record.read_at)
    used = any(link.source == "huggingface" for link in links) or bool(hf_links(record))
    return SourceLookup(service="huggingface", status="found" if used else "none",
                        read_at=record.read_at)


def build_papers(placed: Sequence[Placed], repos: Mapping[str, Repo],
                 citekeys: Mapping[str, str], *, hf: Mapping[str, HfRecord] | None = None,
                 s2: Mapping[str, S2Record] | None = None,
                 dblp: Mapping[str, DblpRecord] | None = None) -> list[Paper]:
    """One record per distinct paper, sorted by key. `repos` is keyed by lower-case owner/name
    as linked; `citekeys` by paper key; `hf`, `s2` and `dblp` (the services' stored answers)
    by arXiv ID."""
    groups: dict[str, list[Placed]] = {}
    for item in placed:
        groups.setdefault(item.key, []).append(item)
    papers = []
    for key in sorted(groups):
        group = groups[key]
        first = group[0]
        match = next((i.match for i in group if i.match.status == "matched"), first.match)
        arxiv_id = matched_paper(group)
        hf_record = (hf or {}).get(arxiv_id) if arxiv_id else None
        links = code_links(group, hf_record)
        linked = [
            repos[link.repo.lower()].model_copy(update={"source": link.source})
            for link in links if link.repo and link.repo.lower() in repos
        ]
        paper = _paper(key, first.entry, match=match, links=links,
                       repos=_unique_repos(linked), citekey=citekeys.get(key), group=group)
        if arxiv_id is not None and match.paper is not None:
            decision = decide(match.paper, (s2 or {}).get(arxiv_id), (dblp or {}).get(arxiv_id))
            lookups = (hf_lookup(hf_record, links),) if hf_record is not None else ()
            paper = paper.model_copy(update={
                "published_version": decision.version,
                "citation_count": decision.citation_count,
                "citation_count_read_at": decision.citation_read_at,
                "lookups": lookups + decision.lookups})
        papers.append(paper)
    return papers


def _unique_repos(repos: list[Repo]) -> tuple[Repo, ...]:
    seen: dict[str, Repo] = {}
    for repo in repos:
        seen.setdefault(repo.full_name.lower(), repo)
    return tuple(seen.values())


def _paper(key: str, entry: Entry, *, match: ArxivMatch, links: tuple[CodeLink, ...],
           repos: tuple[Repo, ...], citekey: str | None, group: Sequence[Placed]) -> Paper:
    refs = tuple(DigestRef(file=i.digest.file, index=i.entry.index, date=i.entry.date,
                           category=i.digest.category) for i in group)
    found = match.paper
    record = match.model_copy(update={"paper": None})
    if found is None:
        return Paper(
            key=key, arxiv_id=None, arxiv_version=None, title=entry.title,
            authors=entry.authors, abstract=entry.abstract, published=None, updated=None,
            primary_category=None, categories=(), doi=None, arxiv_doi=None, journal_ref=None,
            comment=entry.comment, abs_url=None, pdf_url=None, digest_title=entry.title,
            digest_authors=entry.authors, match=record, links=links, repos=repos,
            citekey=None, digests=refs,
        )
    return Paper(
        key=key, arxiv_id=found.arxiv_id, arxiv_version=found.version, title=found.title,
        authors=found.authors, abstract=found.abstract, published=found.published,
        updated=found.updated, primary_category=found.primary_category,
        categories=found.categories, doi=found.doi, arxiv_doi=found.arxiv_doi,
        journal_ref=found.journal_ref, comment=found.comment, abs_url=found.abs_url,
        pdf_url=found.pdf_url, digest_title=entry.title, digest_authors=entry.authors,
        match=record, links=links, repos=repos, citekey=citekey, digests=refs,
        withdrawn=found.withdrawn,
    )


def digest_view(digest: Digest, placed: Sequence[Placed],
                papers: Mapping[str, Paper]) -> DigestView:
    """`digests/<stem>.json`: the digest's entries in order, each pointing at its paper."""
    entries = []
    for item in placed:
        if item.digest.file != digest.file:
            continue
        paper = papers[item.key]
        entries.append(DigestViewEntry(
            **item.entry.model_dump(), paper=item.key, status=item.match.status,
            arxiv_id=paper.arxiv_id, citekey=paper.citekey, notes=item.match.notes,
        ))
    return DigestView(file=digest.file, category=digest.category, date=digest.date,
                      form=digest.form, problems=digest.problems, entries=tuple(entries))


def failed_digest_view(problem: Problem) -> DigestView:
    """`digests/<stem>.json` for a digest that could not be read."""
    return DigestView(file=problem.file, error=problem)


def report(digests: Sequence[Digest], failures: Sequence[Problem],
           papers: Sequence[Paper]) -> dict[str, Any]:
    """`report.json`: what the outputs hold and what is left to do (no run-specific numbers,
    so that a re-run with the same answers writes the same bytes)."""
    by_status = dict.fromkeys(STATUSES, 0)
    repo_status: dict[str, int] = {}
    for paper in papers:
        by_status[paper.match.status] += 1
        for repo in paper.repos:
            repo_status[repo.status] = repo_status.get(repo.status, 0) + 1
    unresolved = [
        {"title": p.title, "status": p.match.status, "error": p.match.error,
         "digests": [f"{d.file}#{d.index}" for d in p.digests],
         "candidates": [c.model_dump(mode="json") for c in p.match.candidates]}
        for p in papers if p.match.status != "matched"
    ]
    # Why lookups failed, per service and reason: "arXiv was unreachable" belongs here, not
    # only in a run's summary (the outputs are what stays).
    errors: dict[str, dict[str, int]] = {}
    for paper in papers:
        if paper.match.status == "error":
            reason = paper.match.error or "unknown"
            errors.setdefault("arXiv", {})[reason] = errors.get("arXiv", {}).get(reason, 0) + 1
        for repo in paper.repos:
            if repo.status in ("error", "deferred"):
                reason = repo.error or repo.status
                errors.setdefault("GitHub", {})[reason] = (
                    errors.get("GitHub", {}).get(reason, 0) + 1)
    sources: dict[str, dict[str, int]] = {}
    for paper in papers:
        for lookup in paper.lookups:
            counts = sources.setdefault(lookup.service, {})
            counts[lookup.status] = counts.get(lookup.status, 0) + 1
            if lookup.status in ("error", "deferred"):
                name = _SERVICE_NAMES[lookup.service]
                reason = lookup.note or lookup.status
                errors.setdefault(name, {})[reason] = errors.get(name, {}).get(reason, 0) + 1
    published: dict[str, int] = {}
    for paper in papers:
        if paper.published_version is not None:
            source = paper.published_version.source
            published[source] = published.get(source, 0) + 1
    noted = [{"title": p.title, "arxiv_id": p.arxiv_id, "notes": list(p.match.notes),
              "digests": [f"{d.file}#{d.index}" for d in p.digests]}
             for p in papers if p.match.notes]
    return {
        "digests": {
            "read": len(digests),
            "failed": [f.model_dump(mode="json") for f in sorted(failures,
                                                                 key=lambda f: f.file)],
            "problems": [p.model_dump(mode="json") for d in digests for p in d.problems],
            "entries": sum(len(d.entries) for d in digests),
        },
        "papers": {"total": len(papers), **by_status},
        "repos": dict(sorted(repo_status.items())),
        "sources": {service: dict(sorted(counts.items()))
                    for service, counts in sorted(sources.items())},
        "published": {"total": sum(published.values()), **dict(sorted(published.items()))},
        "errors": {service: dict(sorted(reasons.items()))
                   for service, reasons in sorted(errors.items())},
        "notes": noted,
        "withdrawn": sorted(p.arxiv_id for p in papers if p.withdrawn and p.arxiv_id),
        "unresolved": unresolved,
    }

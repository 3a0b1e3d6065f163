"""Benchmark: code links and published versions from the sources beyond arXiv.

    python -m bench.sources_bench [--entries 300] [--seed 0] [--json PATH]

Builds the test world of `tests.support.sources_world` (HF-only repositories, HF links written
differently, sub-folders, renamed and deleted repositories, organisation pages, GitLab, stale
HF stars, papers HF does not know; S2 published versions and wrong merges, dblp-only venues,
same-title decoys, CoRR-only records), serves it from the five loopback fakes, and runs the
pipeline's steps exactly as the flow's tasks call them (parse, remember, resolve,
read_huggingface, find_published, read_github, issue_citekeys, render). It then scores what
`papers.jsonl` says against the world's truth:

* code links: recall and precision over the repositories the sources name, links found per
  source, stars against GitHub's (never HF's cached count) — and the **text-only baseline in
  the same run** (the same state rendered without Hugging Face's links);
* published versions: venue recall and precision (no wrong merge, no decoy, no CoRR);
* requests per paper per service, dblp requests against the papers S2 had nothing for, and a
  re-run within the TTLs (must ask nothing).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from enrich import pipeline
from enrich.render.papers import build_papers, place
from enrich.settings import Settings
from enrich.store.db import StateStore
from enrich.store.repos import RepoStore
from tests.fakes.dblp_api import FakeDblp
from tests.fakes.github_api import FakeGitHub
from tests.fakes.hf_api import FakeHuggingFace
from tests.fakes.s2_api import FakeSemanticScholar
from tests.support.indexed_search import indexed_fake_arxiv
from tests.support.sources_world import World, build_world

INTERVAL = 0.002


def _repo_key(repo: dict[str, Any]) -> str:
    """A found repository as the truth names it: today's name when GitHub has it, else the
    name as linked."""
    return str(repo["full_name"] if repo["status"] == "ok" else repo["requested"]).lower()


def score_links(found: dict[str, set[str]], truth: dict[str, set[str]]) -> dict[str, Any]:
    hit = sum(len(found.get(i, set()) & t) for i, t in truth.items())
    named = sum(len(t) for t in truth.values())
    got = sum(len(found.get(i, set())) for i in truth)
    return {"named": named, "found": got, "correct": hit,
            "recall": hit / named if named else 1.0,
            "precision": hit / got if got else 1.0}


def _papers(output: Path) -> dict[str, dict[str, Any]]:
    papers = {}
    for line in (output / "papers.jsonl").read_text(encoding="utf-8").splitlines():
        paper = json.loads(line)
        if paper["arxiv_id"]:
            papers[paper["arxiv_id"]] = paper
    return papers


def _text_only(state: StateStore, digests: Sequence[Any]) -> dict[str, set[str]]:
    """The baseline: the same state's papers built from text links alone (no HF)."""
    placed = place(digests, pipeline.stored_matches(state, digests))
    bare = build_papers(placed, {}, {})
    names = {link.repo.lower() for p in bare for link in p.links if link.repo}
    papers = build_papers(placed, RepoStore(state).facts(names), {})
    return {p.arxiv_id: {_repo_key(r.model_dump(mode="json")) for r in p.repos}
            for p in papers if p.arxiv_id}


def run(world: World, *, interval: float = INTERVAL) -> dict[str, Any]:
    """Run the pipeline over the world and score it (see the module docstring)."""
    with indexed_fake_arxiv(world.corpus.papers) as arxiv, \
            FakeGitHub(world.github, anonymous_quota=10**9) as github, \
            FakeHuggingFace(world.hf) as hf, FakeSemanticScholar(world.s2) as s2, \
            FakeDblp(world.dblp) as dblp, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(arxiv_api_url=arxiv.url, arxiv_min_interval=interval,
                            github_api_url=github.url, github_max_wait=5.0, hf_api_url=hf.url,
                            hf_min_interval=interval, s2_api_url=s2.url,
                            s2_min_interval=interval, dblp_api_url=dblp.url,
                            dblp_min_interval=interval)
        out = Path(tmp) / "out"
        paths = world.corpus.write(Path(tmp) / "digests")
        state = StateStore.for_output(out)
        started = time.perf_counter()
        outcomes = [pipeline.parse_file(p) for p in paths]
        pipeline.remember(state, outcomes)
        digests = [o.digest for o in outcomes if o.digest is not None]
        resolved = pipeline.resolve(digests, settings=settings, state=state)
        hf_stats = pipeline.read_huggingface(digests, settings=settings, state=state)
        s2_stats, dblp_stats = pipeline.find_published(digests, settings=settings, state=state)
        pipeline.read_github(digests, settings=settings, state=state)
        pipeline.issue_citekeys(state)
        pipeline.render(out, state)
        wall = time.perf_counter() - started
        cold = {"arxiv": resolved.requests, "huggingface": hf.request_count,
                "semantic_scholar": s2.request_count, "dblp": dblp.request_count,
                "github": github.request_count}
        counted = {"huggingface": hf_stats.requests, "semantic_scholar": s2_stats.requests,
                   "dblp": dblp_stats.requests}

        papers = _papers(out)
        baseline = _text_only(state, digests)
        stars_wrong = 0
        ours: dict[str, set[str]] = {}
        by_source: Counter[str] = Counter()
        for arxiv_id, paper in papers.items():
            ours[arxiv_id] = set()
            for repo in paper["repos"]:
                ours[arxiv_id].add(_repo_key(repo))
                by_source[repo["source"]] += 1
                if repo["status"] == "ok" and repo["stars"] != github.repo(
                        repo["full_name"]).stars:
                    stars_wrong += 1
        truth = {i: t for i, t in world.truth_repos.items() if i in papers}
        # Published versions.
        confirmed = correct = 0
        wrong: list[str] = []
        for arxiv_id, expected in world.truth_venue.items():
            version = papers.get(arxiv_id, {}).get("published_version")
            if version is None:
                continue
            confirmed += 1
            got = (version["venue"], version["year"], version["source"])
            if got == expected:
                correct += 1
            else:
                wrong.append(f"{arxiv_id}: {got} (truth {expected})")
        with_venue = sum(1 for i, v in world.truth_venue.items() if v and i in papers)
        s2_nothing = sum(1 for p in papers.values() for lookup in p["lookups"]
                         if lookup["service"] == "semantic_scholar"
                         and lookup["status"] in ("absent", "rejected", "none"))

        # A re-run within the TTLs asks nothing.
        for fake in (arxiv, github, hf, s2, dblp):
            fake.reset_log()
        pipeline.resolve(digests, settings=settings, state=state)
        pipeline.read_huggingface(digests, settings=settings, state=state)
        pipeline.find_published(digests, settings=settings, state=state)
        pipeline.read_github(digests, settings=settings, state=state)
        rerun = {"arxiv": arxiv.request_count, "huggingface": hf.request_count,
                 "semantic_scholar": s2.request_count, "dblp": dblp.request_count,
                 "github": github.request_count}
        state.close()
    matched = len(papers)
    return {
        "entries": world.corpus.entries, "papers": matched, "seconds": round(wall, 2),
        "hf_kinds": dict(sorted(world.hf_kinds.items())),
        "venue_kinds": dict(sorted(world.venue_kinds.items())),
        "links": score_links(ours, truth), "links_text_only": score_links(baseline, truth),
        "links_by_source": dict(sorted(by_source.items())),
        "links_by_source_text_only": {"text": sum(len(v) for v in baseline.values())},
        "stars_wrong": stars_wrong,
        "venues": {"truth": with_venue, "confirmed": confirmed, "correct": correct,
                   "recall": correct / with_venue if with_venue else 1.0,
                   "precision": correct / confirmed if confirmed else 1.0, "wrong": wrong},
        "requests": cold, "requests_counted": counted,
        "per_paper": {k: round(v / matched, 4) if matched else 0.0 for k, v in cold.items()},
        "dblp_searches": dblp_stats.asked, "s2_nothing": s2_nothing,
        "rerun": rerun,
    }


def check(figures: dict[str, Any]) -> list[str]:
    """The issue's bar; each failure is one line."""
    problems = []
    links, venues, per = figures["links"], figures["venues"], figures["per_paper"]
    if links["recall"] < 0.98 or links["precision"] < 1.0:
        problems.append(f"code links: recall {links['recall']:.4f}, precision "
                        f"{links['precision']:.4f}")
    if figures["stars_wrong"]:
        problems.append(f"{figures['stars_wrong']} star counts differ from GitHub's")
    if venues["recall"] < 0.95 or venues["precision"] < 1.0:
        problems.append(f"venues: recall {venues['recall']:.4f}, precision "
                        f"{venues['precision']:.4f}: {venues['wrong'][:3]}")
    # S2: one request per 500 papers (≤ 0.01 per paper from 100 papers on).
    batches = -(-figures["papers"] // 500)
    if per["huggingface"] > 1.0 or figures["requests"]["semantic_scholar"] > batches:
        problems.append(f"requests per paper: HF {per['huggingface']}, S2 "
                        f"{per['semantic_scholar']} ({figures['requests']['semantic_scholar']} "
                        f"for {figures['papers']} papers)")
    if figures["dblp_searches"] > figures["s2_nothing"]:
        problems.append(f"dblp asked {figures['dblp_searches']} times for "
                        f"{figures['s2_nothing']} papers S2 had nothing for")
    if any(figures["rerun"].values()):
        problems.append(f"a re-run asked {figures['rerun']}")
    if figures["requests"] != {**figures["requests"], **figures["requests_counted"]}:
        problems.append(f"clients counted {figures['requests_counted']}, fakes saw "
                        f"{figures['requests']}")
    return problems


def table(figures: dict[str, Any]) -> str:
    links, base, venues = figures["links"], figures["links_text_only"], figures["venues"]
    per, src = figures["per_paper"], figures["links_by_source"]
    rows = [
        "| measure | digest-enrich (text + HF) | text only (same run) |",
        "|---|---|---|",
        f"| code links found / named by the sources | {links['correct']} / {links['named']} "
        f"| {base['correct']} / {base['named']} |",
        f"| code-link recall (goal ≥ 0.98) | {links['recall']:.4f} | {base['recall']:.4f} |",
        f"| code-link precision (goal 1.0) | {links['precision']:.4f} | "
        f"{base['precision']:.4f} |",
        f"| links found per source | digest {src.get('digest', 0)}, arXiv "
        f"{src.get('arxiv', 0)}, Hugging Face {src.get('huggingface', 0)} | digest + arXiv "
        f"{figures['links_by_source_text_only']['text']} |",
        f"| star counts differing from GitHub's | {figures['stars_wrong']} | – |",
        f"| venue recall (goal ≥ 0.95) | {venues['recall']:.4f} ({venues['correct']}/"
        f"{venues['truth']}) | 0 (no venues) |",
        f"| venue precision (goal 1.0) | {venues['precision']:.4f} ({venues['confirmed']} "
        "confirmed) | – |",
        f"| HF requests per paper (goal ≤ 1) | {per['huggingface']:.3f} | 0 |",
        f"| S2 requests per paper (goal ≤ 0.01) | {per['semantic_scholar']:.4f} | 0 |",
        f"| dblp searches / papers S2 had nothing for | {figures['dblp_searches']} / "
        f"{figures['s2_nothing']} | 0 |",
        f"| arXiv / GitHub requests per paper | {per['arxiv']:.3f} / {per['github']:.3f} | "
        "same |",
        f"| requests on a re-run within the TTLs (goal 0) | "
        f"{sum(figures['rerun'].values())} | – |",
    ]
    return "\n".join(rows)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=INTERVAL)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.ERROR)
    world = build_world(args.entries, args.seed)
    figures = run(world, interval=args.interval)
    print(f"{figures['entries']} digest entries, {figures['papers']} papers on arXiv; "
          f"HF cases {figures['hf_kinds']}; venue cases {figures['venue_kinds']}; "
          f"{figures['seconds']} s\n")
    print(table(figures))
    print(f"\nrequests, cold run: {figures['requests']}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", "utf-8")
    problems = check(figures)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

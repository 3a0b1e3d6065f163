"""A test world for the sources beyond arXiv: what HF, GitHub, S2 and dblp know, and the truth.

`build_world(entries, seed)` starts from a generated digest corpus (`tests.support.corpus`:
digests, the fake arXiv's papers with decoys, GitHub links in some abstracts) and adds, per
paper on arXiv, deterministically for the seed:

Code links (Hugging Face Papers and GitHub), with the traps:

    hf-only        HF's githubRepo names a repository no text mentions
    hf-variant     HF names the abstract's repository written differently (www., .git,
                   case, trailing slash, http)
    hf-subfolder   HF names a sub-folder (`…/tree/main/src/x`) of a repository
    hf-renamed     HF names a repository by its old name (GitHub answers 301)
    hf-deleted     HF names a deleted repository (GitHub answers 404): named, not `ok`
    hf-org         HF's githubRepo is an organisation page: no repository
    hf-gitlab      HF's githubRepo is on GitLab: not a GitHub repository
    hf-page        HF has a project page only (github.io or another site)
    hf-bare        HF knows the paper, with no links
    hf-unknown     HF does not index the paper (404)
    every HF `githubStars` is stale (GitHub's count differs)

Published versions (Semantic Scholar and dblp), with the traps:

    s2-published   S2 has the venue, DOI and citations (conference or journal)
    s2-wrong-merge S2's record under the arXiv ID is another paper with a venue: refuse it
    dblp-only      S2 has only the arXiv copy (or nothing); dblp has the venue, authors with
                   homonym numbers — sometimes beside a same-title decoy by others
    dblp-decoy     dblp's only venue record of the title is by other authors: refuse it
    corr-only      dblp has only the CoRR (arXiv) record: no venue
    unpublished    S2 has the arXiv copy, dblp nothing

`truth_repos[arxiv_id]`: the repositories the sources name, as GitHub knows them today
(current name; the name as linked for deleted or blocked ones), lower-cased.
`truth_venue[arxiv_id]`: (venue, year, source) or None.

Test infrastructure: independent of the code under test (no `enrich` import).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from tests.fakes.dblp_api import CONFERENCE, JOURNAL, DblpPub, corr
from tests.fakes.github_corpus import FakeRepo, GitHubCorpus
from tests.fakes.hf_api import HfPaper
from tests.fakes.s2_api import S2Doc
from tests.support.corpus import BenchCorpus, generate
from tests.support.scoring import github_corpus

HF_SHARES = (("hf-only", 0.22), ("hf-variant", 0.10), ("hf-subfolder", 0.06),
             ("hf-renamed", 0.04), ("hf-deleted", 0.03), ("hf-org", 0.04),
             ("hf-gitlab", 0.03), ("hf-page", 0.05), ("hf-bare", 0.08))  # rest: hf-unknown
VENUE_SHARES = (("s2-published", 0.32), ("s2-wrong-merge", 0.05), ("dblp-only", 0.16),
                ("dblp-decoy", 0.07), ("corr-only", 0.15))  # rest: unpublished
CONFERENCES = (("Computer Vision and Pattern Recognition", "CVPR"),
               ("Neural Information Processing Systems", "NeurIPS"),
               ("International Conference on Learning Representations", "ICLR"),
               ("European Conference on Computer Vision", "ECCV"),
               ("AAAI Conference on Artificial Intelligence", "AAAI"))
JOURNALS = (("IEEE Transactions on Pattern Analysis and Machine Intelligence", "TPAMI"),
            ("Medical Image Analysis", "MedIA"),
            ("International Journal of Computer Vision", "IJCV"))
DBLP_VENUES = (("CVPR", CONFERENCE), ("NeurIPS", CONFERENCE), ("ICCV", CONFERENCE),
               ("MICCAI (3)", CONFERENCE), ("IEEE Trans. Image Process.", JOURNAL),
               ("Pattern Recognit.", JOURNAL))


@dataclass
class World:
    corpus: BenchCorpus
    github: GitHubCorpus
    hf: list[HfPaper]
    s2: list[S2Doc]
    dblp: list[DblpPub]
    truth_repos: dict[str, set[str]]
    truth_venue: dict[str, tuple[str, int, str] | None]
    hf_kinds: Counter[str] = field(default_factory=Counter)
    venue_kinds: Counter[str] = field(default_factory=Counter)
    text_repos: dict[str, set[str]] = field(default_factory=dict)  # named by text alone

    @property
    def papers(self) -> list[str]:
        return sorted(self.truth_venue)


def _pick(rng: random.Random, shares: tuple[tuple[str, float], ...], rest: str) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in shares:
        total += share
        if roll < total:
            return kind
    return rest


def _variant(repo: str, rng: random.Random) -> str:
    return rng.choice((f"https://www.github.com/{repo}", f"https://github.com/{repo}.git",
                       f"https://github.com/{repo.upper()}", f"https://github.com/{repo}/",
                       f"http://github.com/{repo.lower()}"))


def build_world(entries: int = 300, seed: int = 0) -> World:
    """The world for a corpus of `entries` digest entries (see the module docstring)."""
    corpus = generate(entries, seed)
    rng = random.Random(seed * 7919 + 17)
    by_id = {p.arxiv_id: p for p in corpus.papers}
    text: dict[str, set[str]] = {}
    for expectation in corpus.truth.values():
        if expectation.expected is not None:
            repos = text.setdefault(expectation.expected, set())
            if expectation.repo:
                repos.add(expectation.repo)
    base = github_corpus(r for repos in text.values() for r in repos)
    repos = list(base.repos)
    deleted = list(base.deleted)
    next_id = 800_000_000

    def new_repo(owner: str, name: str, **extra: object) -> FakeRepo:
        nonlocal next_id
        next_id += 1
        repo = FakeRepo(id=next_id, full_name=f"{owner}/{name}", stars=(next_id * 37) % 9000,
                        forks=next_id % 300, language="Python", license="MIT",
                        **extra)  # type: ignore[arg-type]
        repos.append(repo)
        return repo

    def canonical(name: str) -> str:
        key = name.lower()
        if key in {d.lower() for d in deleted}:
            return key
        for repo in repos:
            if key in {n.lower() for n in (repo.full_name, *repo.renamed_from)}:
                return key if repo.blocked else repo.full_name.lower()
        raise KeyError(name)

    hf: list[HfPaper] = []
    s2: list[S2Doc] = []
    dblp: list[DblpPub] = []
    truth_repos: dict[str, set[str]] = {}
    truth_venue: dict[str, tuple[str, int, str] | None] = {}
    hf_kinds: Counter[str] = Counter()
    venue_kinds: Counter[str] = Counter()
    for n, arxiv_id in enumerate(sorted(text)):
        paper = by_id[arxiv_id]
        named = set(text[arxiv_id])
        owner = f"hf{n:04d}-lab"
        name = f"code-{arxiv_id.replace('.', '-')}"
        kind = _pick(rng, HF_SHARES, "hf-unknown")
        if kind == "hf-variant" and not named:
            kind = "hf-only"
        github_repo = project = None
        if kind == "hf-only":
            repo = new_repo(owner, name)
            github_repo = f"https://github.com/{repo.full_name}"
            named.add(repo.full_name)
        elif kind == "hf-variant":
            github_repo = _variant(sorted(named)[0], rng)
        elif kind == "hf-subfolder":
            repo = new_repo(owner, name)
            github_repo = f"https://github.com/{repo.full_name}/tree/main/projects/{name}"
            named.add(repo.full_name)
        elif kind == "hf-renamed":
            old = f"{owner}/{name}-old"
            repo = new_repo(owner, name, renamed_from=(old,))
            github_repo = f"https://github.com/{old}"
            named.add(old)
        elif kind == "hf-deleted":
            gone = f"{owner}/{name}-gone"
            deleted.append(gone)
            github_repo = f"https://github.com/{gone}"
            named.add(gone)
        elif kind == "hf-org":
            github_repo = f"https://github.com/{owner}"
        elif kind == "hf-gitlab":
            github_repo = f"https://gitlab.com/{owner}/{name}"
        elif kind == "hf-page":
            project = rng.choice((f"https://{owner}.github.io/{name}/",
                                  f"https://{owner}.example.org/{name}"))
        hf_kinds[kind] += 1
        if kind != "hf-unknown":
            hf.append(HfPaper(arxiv_id, paper.title, paper.authors, github_repo=github_repo,
                              github_stars=rng.randrange(1, 50_000) if github_repo else None,
                              project_page=project))
        truth_repos[arxiv_id] = {canonical(r) for r in named}

        # Published versions.
        year = paper.published.year + rng.choice((0, 0, 1))
        venue_kind = _pick(rng, VENUE_SHARES, "unpublished")
        venue_kinds[venue_kind] += 1
        arxiv_copy = S2Doc(arxiv_id, paper.title, paper.authors, year=paper.published.year,
                           citations=rng.randrange(0, 40))
        truth: tuple[str, int, str] | None = None
        if venue_kind == "s2-published":
            journal = rng.random() < 0.3
            full, short = rng.choice(JOURNALS if journal else CONFERENCES)
            doi = f"10.{1109 if journal else 1007}/{short.lower()}.{year}.{n:05d}"
            s2.append(S2Doc(arxiv_id, paper.title, paper.authors, venue=full, venue_name=full,
                            venue_type="journal" if journal else "conference",
                            venue_alternates=(short, full.split()[0]), year=year,
                            publication_date=f"{year}-06-{1 + n % 28:02d}",
                            journal={"name": full, "volume": str(30 + n % 9),
                                     "pages": f"{n}-{n + 12}"} if journal else None,
                            doi=doi, dblp=f"conf/{short.lower()}/X{n}", citations=n % 500,
                            types=("JournalArticle",) if journal else ("Conference",)))
            truth = (full, year, "semantic_scholar")
        elif venue_kind == "s2-wrong-merge":
            other = rng.choice(corpus.papers)
            full, short = rng.choice(CONFERENCES)
            s2.append(S2Doc(arxiv_id, other.title + " Revisited", ("Zed Quux", "Ann Other"),
                            venue=full, venue_name=full, venue_type="conference",
                            venue_alternates=(short,), year=year, journal=None,
                            doi=f"10.1007/wrong.{n}", citations=999, types=("Conference",)))
            dblp.append(corr(arxiv_id, paper.title, paper.authors, paper.published.year))
        elif venue_kind == "dblp-only":
            if rng.random() < 0.5:
                s2.append(arxiv_copy)
            venue, dtype = rng.choice(DBLP_VENUES)
            people = tuple(f"{a} 0001" if i % 2 == 0 else a
                           for i, a in enumerate(paper.authors))
            dblp.append(corr(arxiv_id, paper.title, paper.authors, paper.published.year))
            if rng.random() < 0.4:  # a same-title decoy by someone else, one author (object)
                dblp.append(DblpPub(f"conf/other/D{n}", paper.title, ("Xavier Decoy",),
                                    "ICIP", year))
            dblp.append(DblpPub(f"{'journals' if dtype == JOURNAL else 'conf'}/v{n % 7}/P{n}",
                                paper.title, people, venue, year, type=dtype,
                                doi=f"10.1109/dblp.{year}.{n:05d}",
                                volume=str(n % 40) if dtype == JOURNAL else None,
                                pages=f"{n}-{n + 9}"))
            truth = (venue, year, "dblp")
        elif venue_kind == "dblp-decoy":
            s2.append(arxiv_copy)
            dblp.append(corr(arxiv_id, paper.title, paper.authors, paper.published.year))
            dblp.append(DblpPub(f"conf/decoy/D{n}", paper.title, ("Yuri Other", "Lena Else"),
                                "ICASSP", year, doi=f"10.1109/decoy.{n}"))
        elif venue_kind == "corr-only":
            dblp.append(corr(arxiv_id, paper.title, paper.authors, paper.published.year))
        else:
            s2.append(arxiv_copy)
        truth_venue[arxiv_id] = truth
    github = GitHubCorpus(tuple(repos), tuple(deleted))
    text_truth = {i: {canonical(r) for r in names} for i, names in text.items()}
    return World(corpus=corpus, github=github, hf=hf, s2=s2, dblp=dblp,
                 truth_repos=truth_repos, truth_venue=truth_venue, hf_kinds=hf_kinds,
                 venue_kinds=venue_kinds, text_repos=text_truth)

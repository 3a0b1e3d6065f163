"""The pipeline's steps (enrich.pipeline) end to end, without Prefect: parse, remember, resolve,
read GitHub, issue keys, render — against `httpx.MockTransport` answers, no sockets."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import httpx
import pytest

from enrich import pipeline
from enrich.digest.model import Digest, Entry, ParseOutcome, Problem
from enrich.errors import InputNotFoundError
from enrich.net.gate import IntervalGate
from enrich.settings import Settings
from enrich.store.citekeys import KEY_NS, OWNER_NS
from enrich.store.db import StateStore
from enrich.text.terms import default_terms
from tests.support.render import render_text

NOW = 1_667_300_000.0  # 2022-11-01, when the test run reads GitHub
GITHUB_DATE = "Tue, 01 Nov 2022 10:53:20 GMT"

# ----------------------------------------------------------------------------------------------
# What arXiv and GitHub know


@dataclass(frozen=True)
class FeedPaper:
    arxiv_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: str
    comment: str | None = None


CYCLIP = FeedPaper(
    "2205.14459", 2, "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
    ("Shashank Goel", "Hritik Bansal", "Sumit Bhatia"),
    "Recent advances in contrastive representation learning over paired image-text data have "
    "led to models such as CLIP. We propose CyCLIP, a framework for contrastive representation "
    "learning that optimizes for geometrically consistent representations. The code is "
    "available at https://github.com/goel-shashank/CyCLIP.",
    "2022-05-28T17:52:06Z", "19 pages, 13 tables, 6 figures")
EBCLR = FeedPaper(
    "2202.04933", 1, "Energy-Based Contrastive Learning of Visual Representations",
    ("Beomsu Kim", "Jong Chul Ye"),
    "Contrastive learning is a method of learning visual representations by training Deep "
    "Neural Networks to increase the similarity between representations of positive pairs.",
    "2022-02-10T12:45:44Z", "NeurIPS 2022. Code: https://github.com/1202kbs/EBCLR")
DECOY = FeedPaper(
    "2203.00001", 1, "Unrelated Work on Graph Partitioning", ("Alan Turing",),
    "Graphs are partitioned.", "2022-03-01T00:00:00Z")
CORPUS = (CYCLIP, EBCLR, DECOY)

REPOS = {
    "goel-shashank/cyclip": {"full_name": "goel-shashank/CyCLIP", "stargazers_count": 140,
                             "forks_count": 12, "license": {"spdx_id": "MIT"},
                             "language": "Python", "pushed_at": "2022-10-20T08:00:00Z"},
    "1202kbs/ebclr": {"full_name": "1202kbs/EBCLR", "stargazers_count": 30, "forks_count": 2,
                      "license": None, "language": "Jupyter Notebook",
                      "pushed_at": "2022-06-01T00:00:00Z"},
}


def atom_entry(paper: FeedPaper) -> str:
    updated = "2022-10-26T03:00:00Z"
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in paper.authors)
    comment = (f'<arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">'
               f"{escape(paper.comment)}</arxiv:comment>" if paper.comment else "")
    return (
        f"<entry><id>http://arxiv.org/abs/{paper.arxiv_id}v{paper.version}</id>"
        f"<updated>{updated}</updated><published>{paper.published}</published>"
        f"<title>{escape(paper.title)}</title><summary>{escape(paper.abstract)}</summary>"
        f"{authors}{comment}"
        f'<link href="http://arxiv.org/abs/{paper.arxiv_id}v{paper.version}" rel="alternate" '
        f'type="text/html"/>'
        f'<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CV" '
        f'scheme="http://arxiv.org/schemas/atom"/>'
        f'<category term="cs.CV" scheme="http://arxiv.org/schemas/atom"/></entry>'
    )


def atom_feed(papers: tuple[FeedPaper, ...]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<title>ArXiv Query</title><updated>2022-11-01T00:00:00-04:00</updated>"
        f"<opensearch:totalResults>{len(papers)}</opensearch:totalResults>"
        "<opensearch:startIndex>0</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{len(papers)}</opensearch:itemsPerPage>"
        + "".join(atom_entry(p) for p in papers) + "</feed>\n"
    ).encode()


class FakeArxiv:
    """arXiv's query API: every search answers the whole (tiny) corpus, the matcher decides;
    an id_list answers the papers it names."""

    def __init__(self, corpus: tuple[FeedPaper, ...] = CORPUS) -> None:
        self.corpus = corpus
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/query"
        raw = request.content.decode() if request.method == "POST" else request.url.query.decode()
        params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        self.queries.append(params)
        ids = [i for i in params.get("id_list", "").split(",") if i]
        papers = tuple(p for p in self.corpus if p.arxiv_id in ids) if ids else self.corpus
        return httpx.Response(200, content=atom_feed(papers),
                              headers={"Content-Type": "application/atom+xml; charset=utf-8"})


class FakeGitHub:
    """GitHub's `GET /repos/{owner}/{name}`: the repositories of REPOS, 404 for the rest."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        headers = {"Content-Type": "application/json; charset=utf-8", "Date": GITHUB_DATE,
                   "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": str(int(NOW) + 3600)}
        owner_name = request.url.path.removeprefix("/repos/").lower()
        facts = REPOS.get(owner_name)
        if request.method != "GET" or facts is None:
            return httpx.Response(404, headers=headers, json={"message": "Not Found"})
        body = {**facts, "html_url": f"https://github.com/{facts['full_name']}",
                "archived": False, "fork": False}
        return httpx.Response(200, headers={**headers, "ETag": f'"{owner_name}"'}, json=body)


# ----------------------------------------------------------------------------------------------
# Digests and one output directory


def listed(title: str, authors: tuple[str, ...], abstract: str, day: dt.date,
           comment: str | None = None) -> Entry:
    return Entry(index=0, line=1, date=day, title=title, authors=authors, abstract=abstract,
                 comment=comment)


DAY1, DAY2 = dt.date(2022, 10, 31), dt.date(2022, 11, 1)
NOBODY = listed("A Paper Nobody Ever Posted Anywhere At All", ("Ada Lovelace", "Grace Hopper"),
                "Our code is at https://github.com/ghost/vanished and nowhere else.", DAY1)
FIRST = render_text([
    listed(CYCLIP.title, CYCLIP.authors, CYCLIP.abstract, DAY1, "19 pages"),
    NOBODY,
]).text
SECOND = render_text([
    listed(CYCLIP.title, CYCLIP.authors, "A shorter abstract in the second digest.", DAY2),
    listed(EBCLR.title, EBCLR.authors, EBCLR.abstract, DAY2, "NeurIPS 2022"),
]).text


def settings() -> Settings:
    return Settings(arxiv_api_url="https://arxiv.test/api/query", arxiv_min_interval=0.0,
                    arxiv_max_attempts=2, arxiv_retry_budget=1.0, arxiv_timeout=5.0,
                    github_api_url="https://api.github.test", github_token=None,
                    github_concurrency=1, github_max_attempts=2, github_retry_budget=1.0,
                    github_ttl_hours=24.0, digest_enrich_contact=None)


@dataclass
class Run:
    inbox: Path
    output: Path
    state: StateStore
    arxiv: FakeArxiv
    github: FakeGitHub

    def parse(self) -> list[ParseOutcome]:
        outcomes = [pipeline.parse_file(p) for p in pipeline.discover([self.inbox])]
        pipeline.remember(self.state, outcomes)
        return outcomes

    def digests(self) -> list[Digest]:
        return [o.digest for o in pipeline.remembered(self.state) if o.digest is not None]

    def resolve(self) -> pipeline.ResolveStats:
        return pipeline.resolve(self.digests(), settings=settings(), state=self.state,
                                gate=IntervalGate(0.0), transport=httpx.MockTransport(self.arxiv))

    def read_github(self) -> pipeline.RepoStats:
        return pipeline.read_github(self.digests(), settings=settings(), state=self.state,
                                    transport=httpx.MockTransport(self.github), now=lambda: NOW)

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.output)): p.read_bytes()
                for p in sorted(self.output.rglob("*")) if p.is_file() and ".state" not in p.parts}


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    inbox = tmp_path / "digests"
    inbox.mkdir()
    (inbox / "2022-10-31.txt").write_text(FIRST, encoding="utf-8")
    (inbox / "2022-11-01.txt").write_text(SECOND, encoding="utf-8")
    (inbox / "broken.txt").write_text("", encoding="utf-8")
    output = tmp_path / "output"
    state = StateStore.for_output(output)
    yield Run(inbox, output, state, FakeArxiv(), FakeGitHub())
    state.close()


ALL_FILES = ("digests/2022-10-31.json", "digests/2022-11-01.json", "digests/broken.json",
             "papers.jsonl", "references.bib", "references.json", "report.json")


# ----------------------------------------------------------------------------------------------
# Parse


def test_discover_takes_digest_files_of_directories_and_files_as_given(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.md", "a.txt", "c.markdown", "D.TXT", ".hidden.txt", "notes.pdf",
                 "sub/deep.txt"):
        (folder / name).write_text("x", encoding="utf-8")
    odd = tmp_path / "odd.log"
    odd.write_text("x", encoding="utf-8")
    found = pipeline.discover([folder, odd, folder / "a.txt"])
    assert [str(p.relative_to(tmp_path)) for p in found] == [
        "in/D.TXT", "in/a.txt", "in/b.md", "in/c.markdown", "odd.log"]


def test_a_missing_digest_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputNotFoundError, match="no such digest file or directory") as caught:
        pipeline.discover([tmp_path, missing])
    assert caught.value.path == str(missing)


@pytest.mark.parametrize(("text", "kind", "line"), [
    ("", "empty", 1),
    ("Some Title\n\nAuthors:Ada Lovelace\n\nAn abstract.\nPDF\n", "missing_date", 3),
    ("类别\n\n2022-10-31 更新\n\n", "no_entries", 3),
], ids=["empty", "no-date", "no-entries"])
def test_a_bad_digest_becomes_an_error_outcome(tmp_path: Path, text: str, kind: str,
                                               line: int) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    outcome = pipeline.parse_file(path)
    assert outcome.digest is None
    assert outcome.file == "bad.txt"
    assert outcome.error is not None
    assert (outcome.error.kind, outcome.error.file, outcome.error.line) == (kind, "bad.txt", line)


def test_remembered_digests_are_what_was_recorded(run: Run) -> None:
    outcomes = run.parse()
    assert [(o.file, o.digest is not None) for o in outcomes] == [
        ("2022-10-31.txt", True), ("2022-11-01.txt", True), ("broken.txt", False)]
    assert pipeline.remembered(run.state) == outcomes
    assert pipeline.remembered(run.state, ["broken.txt", "unknown.txt"]) == [outcomes[2]]
    [first, second, _] = outcomes
    assert first.digest is not None and second.digest is not None
    assert [e.title for e in first.digest.entries] == [CYCLIP.title, NOBODY.title]
    assert [e.title for e in second.digest.entries] == [CYCLIP.title, EBCLR.title]


# ----------------------------------------------------------------------------------------------
# Resolve, read GitHub, issue keys, render


def test_the_steps_turn_digests_into_every_output_file(run: Run) -> None:
    run.parse()
    resolved = run.resolve()
    assert (resolved.entries, resolved.looked_up, resolved.from_cache) == (4, 3, 0)
    assert resolved.statuses == {"matched": 2, "not_found": 1}
    assert resolved.unavailable is None
    assert resolved.requests == len(run.arxiv.queries) > 0

    repos = run.read_github()
    assert (repos.repos, repos.requests) == (3, 3)
    assert repos.statuses == {"missing": 1, "ok": 2}
    assert sorted(run.github.paths) == ["/repos/1202kbs/EBCLR", "/repos/ghost/vanished",
                                        "/repos/goel-shashank/CyCLIP"]

    assert pipeline.issue_citekeys(run.state) == 2
    stats = pipeline.render(run.output, run.state)
    assert stats.written == ALL_FILES
    assert (stats.papers, stats.in_bib, stats.digests, stats.failed_digests) == (3, 2, 2, 1)
    assert stats.statuses == {"matched": 2, "not_found": 1}
    assert tuple(run.files()) == ALL_FILES

    papers = [json.loads(line) for line in (run.output / "papers.jsonl").read_text().splitlines()]
    assert [p["key"] for p in papers] == [
        "arxiv:2202.04933", "arxiv:2205.14459",
        "title:a paper nobody ever posted anywhere at all"]
    ebclr, cyclip, nobody = papers
    assert [(d["file"], d["index"]) for d in cyclip["digests"]] == [("2022-10-31.txt", 0),
                                                                     ("2022-11-01.txt", 0)]
    assert (cyclip["arxiv_version"], cyclip["match"]["status"]) == (2, "matched")
    assert [(r["full_name"], r["stars"], r["license"]) for r in cyclip["repos"]] == [
        ("goel-shashank/CyCLIP", 140, "MIT")]
    assert [(r["full_name"], r["source"]) for r in ebclr["repos"]] == [("1202kbs/EBCLR",
                                                                         "arxiv")]
    assert nobody["arxiv_id"] is None and nobody["citekey"] is None
    assert [r["status"] for r in nobody["repos"]] == ["missing"]

    assert (cyclip["citekey"], ebclr["citekey"]) == ("goel2022cyclip", "kim2022energy")
    keys = dict(run.state.items(KEY_NS))
    assert keys == {"arxiv:2202.04933": {"citekey": "kim2022energy"},
                    "arxiv:2205.14459": {"citekey": "goel2022cyclip"}}
    bib = (run.output / "references.bib").read_text()
    assert bib.count("@techreport{") == 2
    assert f"@techreport{{{cyclip['citekey']}," in bib
    assert f"@techreport{{{ebclr['citekey']}," in bib
    csl = json.loads((run.output / "references.json").read_text())
    assert sorted(item["id"] for item in csl) == sorted([cyclip["citekey"], ebclr["citekey"]])

    report = json.loads((run.output / "report.json").read_text())
    assert report["papers"] == {"total": 3, "matched": 2, "ambiguous": 0, "not_found": 1,
                                "error": 0}
    assert [u["digests"] for u in report["unresolved"]] == [["2022-10-31.txt#1"]]
    assert [f["file"] for f in report["digests"]["failed"]] == ["broken.txt"]
    broken = json.loads((run.output / "digests/broken.json").read_text())
    assert (broken["error"]["kind"], broken["entries"]) == ("empty", [])
    view = json.loads((run.output / "digests/2022-11-01.json").read_text())
    assert [(e["paper"], e["citekey"]) for e in view["entries"]] == [
        ("arxiv:2205.14459", cyclip["citekey"]), ("arxiv:2202.04933", ebclr["citekey"])]


def test_a_second_resolve_and_read_ask_nothing(run: Run) -> None:
    run.parse()
    run.resolve()
    run.read_github()
    asked, read = len(run.arxiv.queries), len(run.github.paths)
    again = run.resolve()
    assert (again.looked_up, again.from_cache, again.requests) == (0, 3, 0)
    assert run.read_github().requests == 0
    assert (len(run.arxiv.queries), len(run.github.paths)) == (asked, read)


def test_render_issues_no_key_and_still_writes_a_paper_without_one(run: Run) -> None:
    run.parse()
    run.resolve()
    run.read_github()
    pipeline.issue_citekeys(run.state)
    pipeline.render(run.output, run.state)
    registry = (list(run.state.items(KEY_NS)), list(run.state.items(OWNER_NS)))

    # a new digest lists a paper resolved after the keys were issued
    extra = FeedPaper("2211.00042", 1, "Fresh Results on Sparse Event Camera Routing",
                      ("Bo Lindqvist", "Ana Smith"), "We route events sparsely.",
                      "2022-11-01T09:00:00Z")
    (run.inbox / "2022-11-03.txt").write_text(render_text([
        listed(extra.title, extra.authors, extra.abstract, dt.date(2022, 11, 3))]).text,
        encoding="utf-8")
    run.parse()
    run.arxiv.corpus = (*CORPUS, extra)
    assert run.resolve().statuses == {"matched": 3, "not_found": 1}

    stats = pipeline.render(run.output, run.state)
    assert (list(run.state.items(KEY_NS)), list(run.state.items(OWNER_NS))) == registry
    assert "digests/2022-11-03.json" in stats.written
    papers = {json.loads(line)["key"]: json.loads(line)
              for line in (run.output / "papers.jsonl").read_text().splitlines()}
    fresh = papers["arxiv:2211.00042"]
    assert fresh["citekey"] is None
    assert fresh["title"] == extra.title
    assert stats.in_bib == 3


def test_render_before_any_key_is_issued_leaves_the_registry_empty(run: Run) -> None:
    run.parse()
    run.resolve()
    stats = pipeline.render(run.output, run.state)
    assert stats.written == ALL_FILES
    assert list(run.state.items(KEY_NS)) == list(run.state.items(OWNER_NS)) == []
    papers = [json.loads(line) for line in (run.output / "papers.jsonl").read_text().splitlines()]
    assert [p["citekey"] for p in papers] == [None, None, None]
    # the papers are still cited in the bibliography, under keys made up for this file
    assert (run.output / "references.bib").read_text().count("@techreport{") == 2


def test_a_second_render_writes_nothing(run: Run) -> None:
    run.parse()
    run.resolve()
    run.read_github()
    pipeline.issue_citekeys(run.state)
    first = pipeline.render(run.output, run.state)
    before = run.files()
    mtimes = {p: (run.output / p).stat().st_mtime_ns for p in before}
    second = pipeline.render(run.output, run.state)
    assert first.written == ALL_FILES
    assert second.written == ()
    assert run.files() == before
    assert {p: (run.output / p).stat().st_mtime_ns for p in before} == mtimes
    assert second.model_copy(update={"written": first.written}) == first


def test_render_sweeps_temp_files_a_killed_writer_left(run: Run) -> None:
    run.parse()
    (run.output / "digests").mkdir(parents=True)
    stray = [run.output / ".papers.jsonl.digest-enrich-x1ab.tmp",
             run.output / "digests" / ".a.json.digest-enrich-x2cd.tmp"]
    users = [run.output / ".draft.tmp", run.output / "digests" / ".notes.json.x2.tmp"]
    for path in (*stray, *users):
        path.write_text("half", encoding="utf-8")
    pipeline.render(run.output, run.state)
    assert not any(p.exists() for p in stray)
    assert all(p.read_text(encoding="utf-8") == "half" for p in users)  # never the user's


def test_a_failed_digest_view_names_the_problem(run: Run) -> None:
    run.parse()
    pipeline.render(run.output, run.state)
    view = json.loads((run.output / "digests/broken.json").read_text())
    assert Problem.model_validate(view["error"]) == Problem(
        kind="empty", file="broken.txt", line=1, message="the file is empty")


# --------------------------------------------------------------------------------------------
# The user's protected terms (BIBTEX_PROTECTED_TERMS)


def test_the_users_protected_terms_extend_the_packaged_list(tmp_path: Path) -> None:
    assert pipeline.protected_terms(None).terms == default_terms().terms
    mine = tmp_path / "lab.terms"
    mine.write_text("\ufeff# our own words\nContrastive Learning\n\nVisual\n", encoding="utf-8")
    terms = pipeline.protected_terms(mine)
    assert terms.terms[:len(default_terms().terms)] == default_terms().terms
    assert terms.terms[-2:] == ("Contrastive Learning", "Visual")
    with pytest.raises(InputNotFoundError, match="BIBTEX_PROTECTED_TERMS"):
        pipeline.protected_terms(tmp_path / "missing.terms")
    (tmp_path / "latin1.terms").write_bytes(b"Caf\xe9\n")
    with pytest.raises(InputNotFoundError, match="UTF-8"):
        pipeline.protected_terms(tmp_path / "latin1.terms")


def test_render_keeps_the_users_terms_in_both_reference_files(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import main  # noqa: PLC0415 - the CLI reads the variable at the edge

    run.parse()
    run.resolve()
    pipeline.issue_citekeys(run.state)
    mine = tmp_path / "lab.terms"
    mine.write_text("Contrastive Learning\nVisual\n", encoding="utf-8")
    monkeypatch.setenv("BIBTEX_PROTECTED_TERMS", str(mine))
    assert main(["render", "--output", str(run.output)]) == 0
    bib = (run.output / "references.bib").read_text(encoding="utf-8")
    assert "{Energy-Based {Contrastive Learning} of {Visual} Representations}" in bib
    titles = [i["title"] for i in json.loads(
        (run.output / "references.json").read_text(encoding="utf-8"))]
    assert "Energy-based Contrastive Learning of Visual representations" in titles

    monkeypatch.setenv("BIBTEX_PROTECTED_TERMS", str(tmp_path / "missing.terms"))
    capsys.readouterr()
    assert main(["render", "--output", str(run.output)]) == 3
    assert "BIBTEX_PROTECTED_TERMS names no such file" in capsys.readouterr().err
    # `run` says so before Prefect starts or any service is asked
    assert main(["run", str(run.inbox), "--output", str(tmp_path / "new")]) == 3
    assert "BIBTEX_PROTECTED_TERMS names no such file" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()

"""`digest-enrich run` as a user runs it: a subprocess, embedded Prefect, real HTTP on loopback.

The fakes serve arXiv's *current* metadata for the 14 seed papers plus decoys with
near-identical titles (including the real near-miss 2411.12792), and the seeds' repositories;
Hugging Face Papers, Semantic Scholar and dblp serve a few test facts about the seed papers
(a code link only HF knows, HF's form of a digest link, a venue on S2, a wrong S2 merge, a
venue only dblp knows, a same-title decoy and a CoRR record on dblp).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import bibtexparser
import jsonschema
import pytest

from enrich.render.schema import schemas
from tests.conftest import REPO, SEEDS, cli_env, run_cli
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.dblp_api import DblpPub, FakeDblp, corr
from tests.fakes.github_api import FakeGitHub
from tests.fakes.hf_api import FakeHuggingFace, HfPaper
from tests.fakes.s2_api import FakeSemanticScholar, S2Doc

pytestmark = pytest.mark.e2e

INTERVAL = "0.05"

# Digest file → the arXiv IDs of its entries, in order (public arXiv facts).
EXPECTED = {
    "000_024a476f5ee58d5f.txt": ["2205.14459", "2210.15075", "2202.04933", "2106.06965"],
    "001_7124c519675a2515.txt": ["2408.02245", "2408.03230", "2408.03627", "2408.04145",
                                 "2408.04594", "2408.05440", "2408.05711", "2408.05953",
                                 "2408.05956", "2408.06743"],
}
# Linked from the seeds' abstracts (owner/name as GitHub has it today), and where the link was.
EXPECTED_REPOS = {
    "2205.14459": ("goel-shashank/CyCLIP", "digest"),
    "2202.04933": ("1202kbs/EBCLR", "digest"),
    "2408.03627": ("Wenlve-Zhou/BIDFC-master", "digest"),
    "2408.04594": ("modelscope/data-juicer", "digest"),
    # Only in arXiv's abstract: the digest printed a shorter one.
    "2210.15075": ("hritam-98/IDEAL-ICASSP23", "arxiv"),
}
# What the three sources know about some seed papers (test facts, not the real services').
CYCLIP_TITLE = "CyCLIP: Cyclic Contrastive Language-Image Pretraining"
EBCLR_TITLE = "Energy-Based Contrastive Learning of Visual Representations"
HF_PAPERS = [
    HfPaper("2205.14459", CYCLIP_TITLE, ("Shashank Goel",), github_stars=5,
            github_repo="https://www.github.com/goel-shashank/CyCLIP.git"),
    # Only HF names this paper's code (as a sub-folder URL).
    HfPaper("2408.03230", "…", ("…",), github_stars=1,
            github_repo="https://github.com/modelscope/data-juicer/tree/main/demos"),
    HfPaper("2408.05440", "…", ("…",), github_repo="https://github.com/some-org"),  # org page
]
S2_DOCS = [
    S2Doc("2205.14459", CYCLIP_TITLE, ("Shashank Goel", "Hritik Bansal", "Sumit Bhatia"),
          venue="Neural Information Processing Systems",
          venue_name="Neural Information Processing Systems", venue_type="conference",
          venue_alternates=("NeurIPS",), year=2022, publication_date="2022-11-28",
          journal=None, doi="10.5555/test.cyclip", citations=120, types=("Conference",)),
    S2Doc("2202.04933", EBCLR_TITLE, ("Beomsu Kim", "Jong Chul Ye"), year=2022),
    # A wrong merge: another paper's record under this arXiv ID.
    S2Doc("2106.06965", "Graph Partitioning at Scale", ("Alan Turing", "Ada Lovelace"),
          venue="ICML", venue_name="International Conference on Machine Learning",
          venue_type="conference", year=2021, journal=None, doi="10.5555/wrong"),
]
DBLP_PUBS = [
    DblpPub("conf/nips/KimY22", EBCLR_TITLE, ("Beomsu Kim", "Jong Chul Ye 0001"), "NeurIPS",
            2022),
    corr("2202.04933", EBCLR_TITLE, ("Beomsu Kim", "Jong Chul Ye"), 2022),
    DblpPub("conf/icip/Decoy22", EBCLR_TITLE + " Revisited", ("Xavier Decoy",), "ICIP", 2022),
]
OUTPUTS = ("papers.jsonl", "references.bib", "references.json", "report.json",
           "digests/000_024a476f5ee58d5f.json", "digests/001_7124c519675a2515.json")


@pytest.fixture(scope="module")
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="module")
def sources() -> Iterator[tuple[FakeHuggingFace, FakeSemanticScholar, FakeDblp]]:
    with FakeHuggingFace(HF_PAPERS) as hf, FakeSemanticScholar(S2_DOCS) as s2, \
            FakeDblp(DBLP_PUBS) as dblp:
        yield hf, s2, dblp


@pytest.fixture
def env(tmp_path: Path, arxiv: FakeArxiv, github: FakeGitHub,
        sources: tuple[FakeHuggingFace, FakeSemanticScholar, FakeDblp]) -> dict[str, str]:
    hf, s2, dblp = sources
    for fake in (arxiv, github, hf, s2, dblp):
        fake.reset_log()
    return cli_env(tmp_path / "prefect", ARXIV_API_URL=arxiv.url, GITHUB_API_URL=github.url,
                   ARXIV_MIN_INTERVAL=INTERVAL, HF_API_URL=hf.url, HF_MIN_INTERVAL="0",
                   S2_API_URL=s2.url, S2_MIN_INTERVAL="0", DBLP_API_URL=dblp.url,
                   DBLP_MIN_INTERVAL="0")


def _papers(output: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (output / "papers.jsonl").read_text(encoding="utf-8").splitlines()]


def _snapshot(output: Path) -> dict[str, bytes]:
    return {name: (output / name).read_bytes() for name in OUTPUTS}


def test_seeds_end_to_end_then_rerun_asks_nothing(
        tmp_path: Path, env: dict[str, str], arxiv: FakeArxiv, github: FakeGitHub,
        sources: tuple[FakeHuggingFace, FakeSemanticScholar, FakeDblp]) -> None:
    hf, s2, dblp = sources
    output = tmp_path / "out"
    done = run_cli(["run", str(SEEDS), "--output", str(output)], env=env)
    assert done.returncode == 0, done.stderr
    assert "2 digest(s) read, 0 failed, 14 entries" in done.stdout
    assert "14 matched" in done.stdout
    # Prefect's embedded-mode noise does not reach the user.
    assert "ephemeral" not in (done.stdout + done.stderr).lower()
    assert "Traceback" not in done.stderr

    papers = _papers(output)
    by_id = {p["arxiv_id"]: p for p in papers}
    assert sorted(by_id) == sorted(i for ids in EXPECTED.values() for i in ids)
    assert all(p["match"]["status"] == "matched" for p in papers)  # type: ignore[index]
    # No decoy is ever chosen (candidates it saw and rejected are recorded, with the reason).
    references = b"".join((output / name).read_bytes()
                          for name in ("references.bib", "references.json"))
    decoys = [doc.paper.arxiv_id for doc in arxiv.index.docs if doc.paper.decoy]
    assert len(decoys) > 20
    assert "2411.12792" in decoys  # the real near-miss
    for decoy in decoys:
        assert decoy.encode() not in references, decoy
        assert decoy not in by_id
    for paper in papers:
        for candidate in paper["match"]["candidates"]:  # type: ignore[index]
            if candidate["arxiv_id"] != paper["arxiv_id"]:
                assert candidate["rejected"] or candidate["score"] < paper["match"]["score"]

    # Each digest view lists its entries in order with the right IDs.
    for file, ids in EXPECTED.items():
        view = json.loads((output / "digests" / f"{Path(file).stem}.json").read_text("utf-8"))
        assert [e["arxiv_id"] for e in view["entries"]] == ids

    # Repositories: read once each, under today's name, with the fake's numbers.
    for arxiv_id, (full_name, source) in EXPECTED_REPOS.items():
        repos = by_id[arxiv_id]["repos"]
        assert [r["full_name"] for r in repos] == [full_name]  # type: ignore[index]
        assert repos[0]["source"] == source  # type: ignore[index]
        served = github.corpus_repo(full_name)
        assert repos[0]["stars"] == served["stargazers_count"]  # type: ignore[index]
        assert repos[0]["status"] == "ok"  # type: ignore[index]
    assert github.request_count <= len(EXPECTED_REPOS) + 1  # +1: at most one rename hop
    # Hugging Face: one request per paper; its only new link, from a sub-folder URL, is read
    # from GitHub (stars GitHub's, not HF's); its form of a digest link is that link; an org
    # page is no repository.
    assert hf.request_count == 14
    juicer = by_id["2408.03230"]["repos"]
    assert [(r["full_name"], r["source"]) for r in juicer] == [  # type: ignore[index]
        ("modelscope/data-juicer", "huggingface")]
    assert juicer[0]["stars"] == github.corpus_repo(  # type: ignore[index]
        "modelscope/data-juicer")["stargazers_count"]
    assert by_id["2408.05440"]["repos"] == []
    # Published versions: S2 in one batch, dblp only where S2 had nothing.
    assert s2.request_count == 1
    assert dblp.request_count == 13
    cyclip = by_id["2205.14459"]["published_version"]
    assert (cyclip["venue"], cyclip["venue_short"], cyclip["year"], cyclip["doi"],  # type: ignore[index]
            cyclip["source"]) == ("Neural Information Processing Systems", "NeurIPS",  # type: ignore[index]
                                  2022, "10.5555/test.cyclip", "semantic_scholar")
    assert by_id["2205.14459"]["citation_count"] == 120
    ebclr = by_id["2202.04933"]["published_version"]
    assert (ebclr["venue"], ebclr["source"]) == ("NeurIPS", "dblp")  # type: ignore[index]
    assert by_id["2106.06965"]["published_version"] is None  # S2's wrong merge refused
    assert by_id["2106.06965"]["citation_count"] is None
    assert sum(1 for p in papers if p["published_version"]) == 2

    # The .bib parses back cleanly: 14 entries, unique keys, eprints without versions.
    library = bibtexparser.parse_string((output / "references.bib").read_text("utf-8"))
    assert library.failed_blocks == []
    assert len(library.entries) == 14
    assert len({e.key for e in library.entries}) == 14
    assert sorted(e["eprint"] for e in library.entries) == sorted(by_id)
    csl = json.loads((output / "references.json").read_text("utf-8"))
    # A preprint's identifier is its `number`; a published paper's (CyCLIP's, EBCLR's) the
    # first line of its note (docs/references.md: APA prints `number` as an article number).
    assert sorted((item.get("number") or item["note"].splitlines()[0]).removeprefix("arXiv:")
                  for item in csl) == sorted(by_id)
    assert sorted(item["type"] for item in csl if "number" not in item) == [
        "paper-conference", "paper-conference"]

    # Records match the committed JSON Schemas.
    schema = schemas()
    for paper in papers:
        jsonschema.validate(paper, schema["paper.schema.json"])
    for name in OUTPUTS:
        if name.startswith("digests/"):
            jsonschema.validate(json.loads((output / name).read_text("utf-8")),
                                schema["digest.schema.json"])

    # A second run asks neither service anything and rewrites nothing.
    first = _snapshot(output)
    for fake in (arxiv, github, hf, s2, dblp):
        fake.reset_log()
    again = run_cli(["run", str(SEEDS), "--output", str(output)], env=env)
    assert again.returncode == 0, again.stderr
    assert arxiv.request_count == 0
    assert github.request_count == 0
    assert (hf.request_count, s2.request_count, dblp.request_count) == (0, 0, 0)
    assert _snapshot(output) == first
    assert "0 file(s) changed" in again.stdout


def test_bad_digest_is_reported_and_the_others_are_processed(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    sources = tmp_path / "digests"
    shutil.copytree(SEEDS, sources)
    text = (SEEDS / "001_7124c519675a2515.txt").read_text("utf-8")
    # Cut in the middle of an entry: the date and first entries are fine, the last is not.
    (sources / "broken.txt").write_text(text[: text.index("Authors:", 2000) + 12], "utf-8")
    (sources / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x89" * 50)
    output = tmp_path / "out"

    done = run_cli(["run", str(sources), "--output", str(output)], env=env)

    # The run completed (exit 0, ARCHITECTURE.md's contract) and says what it could not read.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 digest(s) read, 1 failed" in done.stdout
    assert "binary.txt:1: binary data" in done.stdout
    # The cut-off digest keeps its complete entries; the cut entry is named by file and line.
    assert "broken.txt:24: " in done.stdout
    papers = _papers(output)
    assert {p["arxiv_id"] for p in papers} >= {i for ids in EXPECTED.values() for i in ids}
    report = json.loads((output / "report.json").read_text("utf-8"))
    assert [f["file"] for f in report["digests"]["failed"]] == ["binary.txt"]
    assert [(p["file"], p["kind"]) for p in report["digests"]["problems"]] == [
        ("broken.txt", "truncated_entry")]
    view = json.loads((output / "digests" / "binary.json").read_text("utf-8"))
    assert view["error"]["line"] == 1


def test_no_network_ends_cleanly_and_says_so(tmp_path: Path) -> None:
    # Closed ports on loopback: every connection is refused, as on a laptop without network.
    env = cli_env(tmp_path / "prefect", ARXIV_MIN_INTERVAL=INTERVAL)
    output = tmp_path / "out"

    done = run_cli(["run", str(SEEDS), "--output", str(output)], env=env, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "arXiv was unreachable" in done.stdout
    assert "14 entries are unresolved" in done.stdout
    assert "GitHub" in done.stdout
    assert "Traceback" not in done.stderr
    papers = _papers(output)
    assert len(papers) == 14
    assert {p["match"]["status"] for p in papers} == {"error"}  # type: ignore[index]
    # Nothing unresolved goes into the .bib, and nothing is invented.
    assert bibtexparser.parse_string(
        (output / "references.bib").read_text("utf-8")).entries == []


def test_console_script_is_installed_and_parses_seeds(tmp_path: Path) -> None:
    script = shutil.which("digest-enrich", path=str(Path(REPO / ".venv/bin")))
    if script is None:
        script = shutil.which("digest-enrich")
    assert script is not None, "the `digest-enrich` console script is not installed"
    done = subprocess.run([script, "parse", *sorted(str(p) for p in SEEDS.glob("*.txt"))],
                          capture_output=True, text=True, check=False, cwd=REPO,
                          env=cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    digests = json.loads(done.stdout)
    assert [len(d["entries"]) for d in digests] == [4, 10]

"""references.bib and references.json where people use them: the real readers, run.

Three sets of papers, each rendered as the pipeline renders them — the 14 seed papers, the
stress cases, and a generated output of more than 200 papers (the suite's generated corpus,
with arXiv-style TeX in abstracts and proper nouns in titles added to some) — and each set in
two forms: as preprints, and as published papers (Semantic Scholar/dblp venues set on every
paper in turn: conference → @inproceedings, journal → @article, another kind → the preprint
form with the venue's DOI; some withdrawn). Checked, with one process per set and reader:

- BibTeX `plain`, `unsrt`, `abbrvnat`, `plainnat`, `IEEEtran` and biblatex `numeric` /
  `authoryear` print every entry's arXiv identifier exactly once (URLs and DOIs blanked), and
  every venue;
- pandoc `--citeproc` (APA) renders the same reference from the .bib and from the .json, with
  the identifier (preprints) or the venue and the publisher DOI (published papers);
- pandoc reads our titles and abstracts as our text, and no listed proper noun is lower-cased;
- citeproc-py loads the whole .bib (less the entries with a literal brace, which it cannot
  read in any spelling: the strict xfail below) and the whole .json, with our text and names;
- citation-js and Better BibTeX's parser (`@retorquere/bibtex-parser`, node, from
  tests/consumers/) read every entry with the identifier, the DOI, the venue and our text.

Zotero's own importers are not run here (they live outside the repository); docs/references.md
gives the numbers measured with them by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enrich.render.bibtex import arxiv_id, doi_of, entry_type, published_kind, render_bibtex
from enrich.render.csl import render_csl_json
from enrich.render.model import Paper
from enrich.render.names import csl_names
from enrich.text.names import truncated
from enrich.text.terms import default_terms
from enrich.text.tex import tex_to_text
from tests.support.corpus import generate
from tests.test_bibtex import keyed, paper, published_forms, seed_papers, stress_papers

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ROOT / "tests" / "consumers"
STYLES = Path("/usr/share/citation-style-language/styles")
BIBTEX_STYLES = ("plain", "unsrt", "abbrvnat", "plainnat", "IEEEtran")
BIBLATEX_STYLES = ("numeric", "authoryear")

# arXiv-style TeX and proper nouns, as real metadata has them and the generated corpus lacks.
_TITLE_ADDITIONS = (" with Gaussian Processes", " on Chest X-rays", " for English and Chinese",
                    " via Langevin Dynamics", " under the Wasserstein Distance",
                    " with Markov Chain Monte Carlo", " on the Earth Mover's Distance",
                    " in Riemannian Manifolds", " with Lipschitz Bounds", " via Fourier Features")
_ABSTRACT_ADDITIONS = (
    r" We call it \textbf{Mimic} and show a $\mathcal{O}(n^{2})$ bound for $\ell_1$ losses.",
    r" It is ~10x faster, improves accuracy by 5% and works for \emph{any} $k \geq 2$.",
    r" See ``Appendix~A'' --- and the code at https://github.com/a/b_c~d.",
    r" We study Schr\"odinger bridges, $\{0,1\}^n$ inputs and $x_{i}^{2}$ terms.",
)


def generated_papers(count: int = 220, seed: int = 0) -> list[Paper]:
    """More than 200 papers from the suite's generated corpus, as Paper records."""
    papers = []
    for i, fake in enumerate(generate(count + count // 4, seed=seed).papers[:count]):
        title, abstract = fake.title, fake.abstract
        if i % 4 == 0:
            title += _TITLE_ADDITIONS[(i // 4) % len(_TITLE_ADDITIONS)]
        if i % 3 == 0:
            abstract += _ABSTRACT_ADDITIONS[(i // 3) % len(_ABSTRACT_ADDITIONS)]
        papers.append(paper(fake.arxiv_id, title, fake.authors,
                            published=fake.published.date().isoformat(),
                            version=fake.latest_version, doi=fake.doi,
                            journal_ref=fake.journal_ref, comment=fake.comment,
                            abstract=abstract, primary_category=fake.primary_category))
    return papers


SETS: dict[str, Callable[[], list[Paper]]] = {
    "seeds": seed_papers, "stress": stress_papers, "generated": generated_papers}
FORMS: dict[str, Callable[[list[Paper]], list[Paper]]] = {
    "preprint": list, "published": published_forms}


def _missing() -> list[str]:
    missing = [p for p in ("bibtex", "biber", "pdflatex", "pandoc", "dvi2tty", "kpsewhich")
               if shutil.which(p) is None]
    if not (STYLES / "apa.csl").is_file():
        missing.append("citation-style-language-styles")
    if not (CONSUMERS / "node_modules" / ".installed").is_file():
        missing.append("tests/consumers/node_modules")
    return missing


@pytest.fixture(scope="module", autouse=True)
def _programs() -> None:
    if missing := _missing():
        reason = f"consumers missing: {', '.join(missing)}; run scripts/install-tools.sh"
        if os.environ.get("DIGEST_ENRICH_REQUIRE_TOOLS") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


class Output:
    """references.bib and references.json for one set of papers, in a directory."""

    def __init__(self, directory: Path, papers: list[Paper]) -> None:
        self.dir = directory
        self.papers = [p for p in keyed(papers, directory / "state") if p.citekey]
        self.bib = directory / "references.bib"
        self.json = directory / "references.json"
        self.bib.write_text(render_bibtex(self.papers), encoding="utf-8")
        self.json.write_text(render_csl_json(self.papers), encoding="utf-8")
        self.by_key = {str(p.citekey): p for p in self.papers}
        assert self.papers and len(self.by_key) == len(self.papers)

    def venue(self, p: Paper) -> str | None:
        """The venue the entry gives, when it takes the published form."""
        return p.published_version.venue if published_kind(p) and p.published_version else None


@pytest.fixture(scope="module", params=[(s, f) for s in SETS for f in FORMS],
                ids=[f"{s}-{f}" for s in SETS for f in FORMS])
def output(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Output:
    name, form = request.param
    return Output(tmp_path_factory.mktemp(f"{name}-{form}"), FORMS[form](SETS[name]()))


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=300, check=False,
                          env={**os.environ, "LC_ALL": "C.UTF-8", **env})


_TAGS = re.compile(r"</?(?:span|i|b|sup|sub|sc)[^>]*>")  # CSL rich text (nocase spans, <sup>)


def skeleton(text: str) -> str:
    """Letters and digits only, case-folded, composed (Better BibTeX gives TeX accents as
    combining marks): what must survive a reader."""
    text = unicodedata.normalize("NFC", _TAGS.sub("", text))
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def ascii_skeleton(text: str) -> str:
    """ASCII letters and digits only (dvi2tty prints accented T1 glyphs as other bytes)."""
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def survives(theirs: str, ours: str) -> bool:
    """The reader's text is ours: the same letters and digits, no TeX left over (no
    backslash, brace or dollar that our text does not have)."""
    theirs = _TAGS.sub("", theirs)
    return skeleton(theirs) == skeleton(ours) and all(
        theirs.count(ch) <= ours.count(ch) for ch in "\\{}$")


# --------------------------------------------------------------------------------------------
# BibTeX and biblatex: the identifier printed exactly once, and the venue

_DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage[paperwidth=30cm,textwidth=26cm]{geometry}
\usepackage{url}
%(packages)s
\def\url#1{<url>}\def\doi#1{<doi>}
\DeclareUnicodeCharacter{FFFD}{?}
%(stubs)s
\begin{document}\raggedright\nocite{*}
%(body)s
\end{document}
"""


def _printed(out: Output, name: str, packages: str, body: str, backend: str) -> str:
    """The typeset bibliography as text (dvi2tty), with URLs and DOIs blanked."""
    work = out.dir / name
    work.mkdir(exist_ok=True)
    shutil.copy(out.bib, work / "refs.bib")
    stubs = "\n".join(f"\\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{?}}"
                      for ch in sorted({c for c in out.bib.read_text(encoding="utf-8")
                                        if ord(c) > 0x17F}))
    (work / "doc.tex").write_text(_DOCUMENT % {"packages": packages, "stubs": stubs,
                                               "body": body}, encoding="utf-8")
    latex = ["pdflatex", "-output-format=dvi", "-interaction=nonstopmode",
             "-no-shell-escape", "doc"]
    # Once to write the citations, the backend, once to typeset the bibliography (the labels
    # a third run would settle are not what is counted).
    run(latex, work)
    run([backend, "doc"], work)
    run(latex, work)
    return run(["dvi2tty", "-w250", "doc.dvi"], work).stdout


def _check_printed(text: str, out: Output) -> None:
    flat = "".join(text.split())
    wrong = {}
    for key, p in out.by_key.items():
        times = len(re.findall(rf"(?<![\d.]){re.escape(str(arxiv_id(p)))}(?!\d)", flat))
        if times != 1:
            wrong[key] = times
    assert not wrong, (len(wrong), sorted(wrong.items())[:5])
    printed = ascii_skeleton(text)
    # Every ASCII word of the venue (dvi2tty prints an accented T1 glyph as other bytes).
    missing = sorted({v for p in out.papers if (v := out.venue(p)) and any(
        ascii_skeleton(w) not in printed for w in v.split() if w.isascii())})
    assert not missing, missing


@pytest.mark.parametrize("style", BIBTEX_STYLES)
def test_bibtex_styles_print_every_arxiv_identifier_once(output: Output, style: str) -> None:
    natbib = "\\usepackage[numbers]{natbib}" if style.endswith("nat") else ""
    _check_printed(_printed(output, f"bibtex-{style}", natbib,
                            f"\\bibliographystyle{{{style}}}\\bibliography{{refs}}", "bibtex"),
                   output)


@pytest.mark.parametrize("style", BIBLATEX_STYLES)
def test_biblatex_prints_every_arxiv_identifier_once(output: Output, style: str) -> None:
    packages = (f"\\usepackage[backend=biber,style={style},url=false,doi=false]{{biblatex}}"
                "\\addbibresource{refs.bib}")
    _check_printed(_printed(output, f"biblatex-{style}", packages, "\\printbibliography",
                            "biber"), output)


# --------------------------------------------------------------------------------------------
# pandoc: the .bib and the .json are the same reference


def _citeproc(path: Path, style: str) -> list[str]:
    (path.parent / "all.md").write_text('---\nnocite: "@*"\n---\n', encoding="utf-8")
    done = run(["pandoc", "all.md", "--citeproc", f"--bibliography={path.name}",
                f"--csl={STYLES / style}.csl", "-t", "plain", "--wrap=none"], path.parent)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    return [entry for entry in done.stdout.split("\n\n") if entry.strip()]


def test_pandoc_renders_the_same_reference_from_the_bib_and_the_json(output: Output) -> None:
    from_bib = _citeproc(output.bib, "apa")
    from_json = _citeproc(output.json, "apa")
    assert len(from_bib) == len(from_json) == len(output.papers)
    same = sum(a == b for a, b in zip(from_bib, from_json, strict=True))
    different = [(a, b) for a, b in zip(from_bib, from_json, strict=True) if a != b]
    assert same / len(from_bib) >= 0.95, (same, len(from_bib), different[:3])
    rendered = "\n".join(from_bib)
    for p in output.papers:
        identifier = str(arxiv_id(p))
        if venue := output.venue(p):
            # APA cites the version of record: its venue and DOI.
            assert skeleton(venue) in skeleton(rendered), venue
            assert f"https://doi.org/{doi_of(p, identifier)}" in rendered, p.key
        else:
            assert f"arXiv:{identifier}" in rendered, p.key


def test_pandoc_reads_our_text_and_keeps_every_listed_proper_noun(output: Output) -> None:
    done = run(["pandoc", output.bib.name, "-t", "csljson"], output.dir)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    items = {i["id"]: i for i in json.loads(done.stdout)}
    terms = default_terms()
    lost, raw = [], []
    for key, p in output.by_key.items():
        title = tex_to_text(p.title)
        for start, end in terms.spans(title):
            if title[start:end] not in items[key]["title"].replace("\u2019", "'"):
                lost.append((key, title[start:end], items[key]["title"]))
        if not survives(items[key]["title"], title):
            raw.append((key, "title", items[key]["title"]))
        if p.abstract and not survives(items[key].get("abstract", ""), tex_to_text(p.abstract)):
            raw.append((key, "abstract", items[key].get("abstract", "")[:120]))
    assert not lost, lost[:5]
    assert not raw, (len(raw), raw[:5])


# --------------------------------------------------------------------------------------------
# citeproc-py


def _has_literal_brace(p: Paper) -> bool:
    return any(ch in tex_to_text(text) for text in (p.title, p.abstract, p.comment or "",
                                                   p.journal_ref or "") for ch in "{}")


def _citeproc_py_bib(path: Path) -> Any:
    from citeproc.source.bibtex import BibTeX  # noqa: PLC0415 - a test-only dependency

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Unsupported BibTeX field …": its own gaps
        return BibTeX(str(path), encoding="utf-8")


def _name_skeleton(names: list[dict[str, str]]) -> list[str]:
    """Each name's letters, whatever a reader calls its parts (CSL's given/family/particles/
    suffix/literal, Better BibTeX's firstName/lastName/prefix/name) and wherever it splits
    them (citation-js takes "Ortega-y" for a particle): that no letter is lost or added. How
    names split is checked with pandoc (tests/test_reference_tools.py)."""
    return ["".join(sorted(skeleton(" ".join(str(v) for v in n.values())))) for n in names]


def _same_names(theirs: list[dict[str, str]], p: Paper) -> bool:
    if truncated(p.authors)[1]:  # BibTeX's "and others", a name to some readers
        theirs = [n for n in theirs if _name_skeleton([n]) != _name_skeleton([{"x": "others"}])]
    return _name_skeleton(theirs) == _name_skeleton(csl_names(p.authors))


def test_citeproc_py_loads_every_entry_with_our_text_and_names(output: Output) -> None:
    # citeproc-py cannot read a literal brace (see the xfail below): those entries are left
    # out of its copy, and everything else must load.
    readable = [p for p in output.papers if not _has_literal_brace(p)]
    assert len(readable) >= 0.9 * len(output.papers)
    copy = output.dir / "citeproc-py.bib"
    copy.write_text(render_bibtex(readable), encoding="utf-8")
    source = _citeproc_py_bib(copy)
    assert sorted(source) == sorted(str(p.citekey).lower() for p in readable)
    bad = []
    for p in readable:
        reference = source[str(p.citekey).lower()]
        if not survives(str(reference["title"]), tex_to_text(p.title)):
            bad.append((p.citekey, "title", str(reference["title"])))
        if p.abstract and not survives(str(reference["abstract"]), tex_to_text(p.abstract)):
            bad.append((p.citekey, "abstract", str(reference["abstract"])[:120]))
        names = [{k: str(v) for k, v in n.items()} for n in reference.get("author", [])]
        if not _same_names(names, p):
            bad.append((p.citekey, "author", names))
    assert not bad, (len(bad), bad[:5])


@pytest.mark.xfail(strict=True, raises=(RuntimeError, ValueError, KeyError), reason=(
    "citeproc-py 0.11.1 reads no spelling of a literal brace: its BibTeX reader strips every "
    "{ and } before it reads commands (so \\{ leaves a lone backslash, which raises), and "
    "\\textbraceleft raises in str.format; the .bib writes \\{ \\}, which every other reader "
    "takes (docs/references.md). Users of citeproc-py can load references.json instead."))
def test_citeproc_py_reads_a_literal_brace(tmp_path: Path) -> None:
    braces = paper("2401.90003", r"Codes over $\{0,1\}^n$", ["Ada Lovelace"], citekey="k",
                   abstract=r"Sets $\{x_i\}$.")
    out = Output(tmp_path, [braces])
    source = _citeproc_py_bib(out.bib)
    assert str(source["k"]["title"]) == "Codes over {0,1}ⁿ"


def test_citeproc_py_loads_the_whole_json(output: Output) -> None:
    from citeproc.source.json import CiteProcJSON  # noqa: PLC0415 - a test-only dependency

    items = json.loads(output.json.read_text(encoding="utf-8"))
    source = CiteProcJSON(items)
    assert sorted(source) == sorted(k.lower() for k in output.by_key)
    bad = []
    for key, p in output.by_key.items():
        reference = source[key.lower()]
        if not survives(str(reference["title"]), tex_to_text(p.title)):
            bad.append((key, "title", str(reference["title"])))
        if p.abstract and not survives(str(reference["abstract"]), tex_to_text(p.abstract)):
            bad.append((key, "abstract", str(reference["abstract"])[:120]))
    assert not bad, (len(bad), bad[:5])


# --------------------------------------------------------------------------------------------
# citation-js and Better BibTeX's parser


def _node() -> str:
    local = sorted((CONSUMERS / ".node" / "node_modules").glob("node-linux-*/bin/node"))
    return str(local[0]) if local else "node"


def test_citation_js_and_better_bibtex_read_every_entry(output: Output) -> None:
    done = run([_node(), str(CONSUMERS / "read.mjs"), str(output.bib)], CONSUMERS)
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout)
    assert not read["bbt"]["errors"], read["bbt"]["errors"][:3]
    for reader, items, key_of in (("citation-js", read["citationjs"], "id"),
                                  ("bbt", read["bbt"]["entries"], "key")):
        assert sorted(i[key_of] for i in items) == sorted(output.by_key), reader
        bad = []
        for item in items:
            p = output.by_key[item[key_of]]
            identifier = str(arxiv_id(p))
            if entry_type(p) == "techreport":
                if item["number"] != f"arXiv:{identifier}":
                    bad.append((item[key_of], "number", item["number"]))
            elif f"arXiv:{identifier}" not in item["note"]:
                bad.append((item[key_of], "note", item["note"]))
            if (item.get("DOI") or item.get("doi")) != doi_of(p, identifier):
                bad.append((item[key_of], "doi", item.get("DOI") or item.get("doi")))
            venue = output.venue(p)
            theirs = _TAGS.sub("", item.get("container-title", item.get("venue", "")))
            if venue and theirs != venue:  # the venue's name as it is: no word lower-cased
                bad.append((item[key_of], "venue", theirs))
            if not survives(item["title"], tex_to_text(p.title)):
                bad.append((item[key_of], "title", item["title"]))
            if p.abstract and not survives(item["abstract"], tex_to_text(p.abstract)):
                bad.append((item[key_of], "abstract", item["abstract"][:120]))
            names = [n for n in item["author"] if isinstance(n, dict)]
            if not _same_names(names, p):
                bad.append((item[key_of], "author", names[:3]))
        assert not bad, (reader, len(bad), bad[:5])

"""references.bib and references.json through the real programs: BibTeX, biber, pdfLaTeX with
biblatex, and pandoc.

Two sets of papers: the 14 seed papers with their public arXiv metadata, and the stress cases of
tests/fixtures/bib_stress.json. Each .bib is written in both encodings. Every program must read
every entry with zero errors and zero warnings; pandoc must give back each entry's title,
authors, DOI and arXiv identifier; LaTeX must typeset every bibliography. The last tests run the
same checks over deliberately broken input, to show that they do fail.

The programs come from scripts/install-tools.sh (`make tools`). Without them these tests skip,
naming what is missing; with DIGEST_ENRICH_REQUIRE_TOOLS=1 (set it in CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bibtexparser
import pytest

from enrich.render.bibtex import (
    arxiv_id,
    arxiv_version,
    code_urls,
    doi_of,
    entry_type,
    issued,
    note,
    render_bibtex,
)
from enrich.render.csl import render_csl_json
from enrich.render.model import Paper
from enrich.render.names import bibtex_names, csl_names
from enrich.text.latex import math_char, needs_protection
from enrich.text.names import truncated
from enrich.text.tex import tex_to_text
from tests.test_bibtex import (
    keyed,
    published_forms,
    seed_papers,
    stress_cases,
    stress_papers,
)
from tests.test_bibtex import paper as make_paper

pytestmark = pytest.mark.tools

PROGRAMS = ("bibtex", "bibtexu", "biber", "pdflatex", "pandoc", "kpsewhich")
TEX_FILES = ("biblatex.sty", "natbib.sty", "url.sty", "amssymb.sty", "plain.bst", "unsrt.bst",
             "alpha.bst", "abbrvnat.bst")
REQUIRE_TOOLS = "DIGEST_ENRICH_REQUIRE_TOOLS"
INSTALL_HINT = "install them with scripts/install-tools.sh (`make tools`)"

# Classic BibTeX styles run over each encoding. BibTeX counts bytes, so styles that abbreviate
# names (abbrvnat, alpha) cut a UTF-8 letter in half. The `latex` encoding writes every letter
# that has a LaTeX command as that command, so 8-bit `bibtex` abbreviates those names right;
# a letter with no command every reader takes (Ș, Cyrillic, Greek, CJK) stays UTF-8, which
# only `bibtexu` (TeX Live's Unicode BibTeX, same .bst files) abbreviates whole
# (docs/references.md, *Encoding*; test_which_names_8bit_bibtex_can_abbreviate…). So the
# abbreviating styles run over the names 8-bit bibtex can abbreviate, in the latex encoding;
# the utf8 encoding (for biber) runs with the styles that print names whole.
BIBTEX_STYLES = {"latex": ("plain", "unsrt", "abbrvnat", "alpha"), "utf8": ("plain", "unsrt")}
ABBREVIATING = ("abbrvnat", "alpha")
BIBLATEX_STYLES = {"numeric": "style=numeric,maxbibnames=999",
                   "authoryear": "style=authoryear,giveninits=true,uniquename=init"}
SETS: dict[str, Callable[[], list[Paper]]] = {
    "seeds": seed_papers, "stress": stress_papers,
    # Every seed and stress paper with a published version (conference, journal, other).
    "published": lambda: published_forms(seed_papers() + stress_papers())}
ENCODINGS = ("latex", "utf8")


@pytest.fixture(scope="module", autouse=True)
def _programs() -> None:
    """Skip (or, when required, fail) the module when a program or TeX file is missing."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if "kpsewhich" not in missing:
        found = subprocess.run(["kpsewhich", *TEX_FILES], capture_output=True, text=True,
                               check=False).stdout
        missing += [f for f in TEX_FILES if f"/{f}" not in found]
    if missing:
        reason = f"reference programs missing: {', '.join(missing)}; {INSTALL_HINT}"
        if os.environ.get(REQUIRE_TOOLS) == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def tool_env(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for the TeX programs. Font metrics METAFONT makes for T1 go to pytest's
    cache directory (kept between runs, outside the user's TeX tree), else to a scratch one."""
    cache = getattr(request.config, "cache", None)
    var = cache.mkdir("texmf-var") if cache is not None else tmp_path_factory.mktemp("texmf")
    return {**os.environ, "TEXMFVAR": str(var), "TEXMFCONFIG": str(var), "LC_ALL": "C.UTF-8"}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=120, check=False)


@dataclass
class BibFile:
    """A references.bib written for one set of papers in one encoding."""

    name: str
    path: Path
    papers: tuple[Paper, ...]
    encoding: str
    stubs: set[str] = field(default_factory=set)  # characters T1 has no glyph for

    @property
    def keys(self) -> list[str]:
        return sorted(str(p.citekey) for p in self.papers)

    def workdir(self, name: str, papers: tuple[Paper, ...] | None = None) -> Path:
        """A directory with the .bib as refs.bib (of `papers` only, when given)."""
        work = self.path.parent / name
        work.mkdir()
        if papers is None:
            shutil.copy(self.path, work / "refs.bib")
        else:
            (work / "refs.bib").write_text(render_bibtex(papers, encoding=self.encoding),  # type: ignore[arg-type]
                                           encoding="utf-8")
        return work

    def bibtex_papers(self, style: str) -> tuple[Paper, ...]:
        """The papers to run a classic style over: every one, except for abbreviating styles,
        which 8-bit bibtex runs over the names it can abbreviate (every letter ASCII or a
        LaTeX command)."""
        if style not in ABBREVIATING:
            return self.papers
        return tuple(p for p in self.papers
                     if bibtex_names(p.authors, encoding="latex").isascii())


@pytest.fixture(scope="module", params=[(s, e) for s in SETS for e in ENCODINGS],
                ids=[f"{s}-{e}" for s in SETS for e in ENCODINGS])
def bib(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BibFile:
    name, encoding = request.param
    base = tmp_path_factory.mktemp(f"{name}-{encoding}")
    papers = [p for p in keyed(SETS[name](), base / "state") if p.citekey]
    path = base / "refs.bib"
    path.write_text(render_bibtex(papers, encoding=encoding), encoding="utf-8")
    return BibFile(name, path, tuple(papers), encoding)


# --------------------------------------------------------------------------------------------
# What counts as a problem in each program's output


def bibtex_problems(blg: str) -> list[str]:
    return [line for line in blg.splitlines()
            if re.search(r"Warning--|error message|^I couldn't|---line \d+ of file", line)]


def biber_problems(output: str) -> list[str]:
    # stdout has "WARN - …"; the .blg prefixes "[123] Biber.pm:456> WARN - …".
    return [line for line in output.splitlines() if re.search(r"\b(WARN|ERROR) - ", line)]


_UNICODE_ERROR = re.compile(r"Unicode character .*? \(U\+([0-9A-F]+)\)")


def latex_problems(log: str) -> list[str]:
    """Errors, warnings and characters the fonts lack, from a LaTeX log."""
    return [line for line in log.splitlines()
            if line.startswith("!") or "Warning" in line or "Missing character" in line]


def unset_characters(log: str) -> set[str]:
    return {chr(int(code, 16)) for code in _UNICODE_ERROR.findall(log)}


def invalid_utf8(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return repr(data[max(0, exc.start - 40):exc.end + 20])
    return None


# --------------------------------------------------------------------------------------------
# LaTeX documents

_PREAMBLE = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage{url}
%(packages)s
%(stubs)s
\tracinglostchars=1
"""


def compile_document(work: Path, bib: BibFile, packages: str, body: str,
                     backend: list[str], env: dict[str, str]) -> tuple[str, str]:
    """pdfLaTeX, the backend, pdfLaTeX twice; returns the backend's log and LaTeX's log.

    pdfLaTeX's T1 fonts have no glyphs for CJK, Cyrillic, Greek, Vietnamese stacked accents
    or emoji: that is the reader's set-up (CJKutf8, babel, XeLaTeX), not the .bib's. Such
    characters are stood in for — after checking that every Latin-1 and Latin Extended-A letter
    typesets as it is — and the document is compiled again.
    """
    pdflatex = ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "-draftmode", "doc"]

    def attempt() -> tuple[str, str]:
        stubs = "\n".join(f"\\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{?}}"
                          for ch in sorted(bib.stubs))
        (work / "doc.tex").write_text(
            _PREAMBLE % {"packages": packages, "stubs": stubs} + body, encoding="utf-8")
        run(pdflatex, work, env)
        done = run([*backend, "doc"], work, env)
        backend_log = done.stdout + done.stderr
        run(pdflatex, work, env)
        run(pdflatex, work, env)
        return backend_log, (work / "doc.log").read_text(encoding="utf-8", errors="replace")

    backend_log, log = attempt()
    missing = unset_characters(log) - bib.stubs
    if missing:
        assert all(ord(ch) > 0x17F for ch in missing), sorted(missing)
        bib.stubs |= missing
        backend_log, log = attempt()
    return backend_log, log


# --------------------------------------------------------------------------------------------
# Classic BibTeX


def test_bibtex_styles_read_and_typeset_every_entry_without_warnings(
        bib: BibFile, tool_env: dict[str, str]) -> None:
    for style in BIBTEX_STYLES[bib.encoding]:
        papers = bib.bibtex_papers(style)
        work = bib.workdir(f"bibtex-{style}", papers)
        natbib = "\\usepackage[numbers]{natbib}" if style.endswith("nat") else ""
        body = (f"\\begin{{document}}\n\\nocite{{*}}\n\\bibliographystyle{{{style}}}\n"
                "\\bibliography{refs}\n\\end{document}\n")
        output, log = compile_document(work, bib, natbib, body, ["bibtex"], tool_env)
        blg = (work / "doc.blg").read_text(encoding="utf-8", errors="replace")
        assert not bibtex_problems(blg), (style, bibtex_problems(blg))
        assert "(There were" not in output, (style, output)
        bbl = (work / "doc.bbl").read_bytes()
        assert invalid_utf8(bbl) is None, (style, invalid_utf8(bbl))
        items = re.findall(r"\\bibitem(?:\[(?:[^\[\]]|\[[^\]]*\])*\])?\{([^}]+)\}",
                           bbl.decode("utf-8"))
        assert sorted(items) == sorted(str(p.citekey) for p in papers), style
        assert not latex_problems(log), (style, latex_problems(log))


# --------------------------------------------------------------------------------------------
# biber


def test_biber_validates_every_entry_against_its_data_model(bib: BibFile,
                                                            tool_env: dict[str, str]) -> None:
    work = bib.workdir("biber-tool")
    done = run(["biber", "--tool", "--validate-datamodel", "--output-file=checked.bib",
                "refs.bib"], work, tool_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not biber_problems(done.stdout + done.stderr), biber_problems(done.stdout)
    written = bibtexparser.parse_string((work / "checked.bib").read_text(encoding="utf-8"))
    assert sorted(e.key for e in written.entries) == bib.keys
    # What biblatex makes of our fields: the arXiv export spellings become its eprint fields,
    # the comment its annotation; version, venue and code note are kept as they are.
    by_key = {p.citekey: p for p in bib.papers}
    for entry in written.entries:
        paper = by_key[entry.key]
        fields = {f.key.lower(): f.value for f in entry.fields}
        assert fields["eprint"] == arxiv_id(paper)
        assert fields["eprinttype"] == "arxiv"
        if entry_type(paper) == "techreport":
            assert fields["number"] == f"arXiv:{arxiv_id(paper)}"
        else:  # the identifier is printed from the note
            assert f"arXiv:{arxiv_id(paper)}" in fields["note"]
        if venue := {"inproceedings": "booktitle", "article": "journaltitle"}.get(
                entry_type(paper)):
            assert venue in fields, (entry.key, venue)
        assert fields.get("version") == arxiv_version(paper)
        year, date = issued(paper, str(arxiv_id(paper)))  # v1's, or the venue's when known
        assert fields.get("date") == (date.isoformat() if date else str(year))
        assert ("annotation" in fields) == bool(paper.comment)
        assert ("note" in fields) == bool(note(paper))


@pytest.mark.parametrize("style", BIBLATEX_STYLES)
def test_a_biblatex_document_compiles_with_biber_without_warnings(
        bib: BibFile, style: str, tool_env: dict[str, str]) -> None:
    work = bib.workdir(f"biblatex-{style}")
    packages = f"\\usepackage[backend=biber,{BIBLATEX_STYLES[style]}]{{biblatex}}\n" \
               "\\addbibresource{refs.bib}"
    body = "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n"
    output, log = compile_document(work, bib, packages, body, ["biber"], tool_env)
    blg = (work / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert not biber_problems(blg), biber_problems(blg)
    assert not biber_problems(output), output
    assert not latex_problems(log), latex_problems(log)
    bbl = (work / "doc.bbl").read_text(encoding="utf-8")
    types = {"techreport": "report", "inproceedings": "inproceedings", "article": "article",
             "misc": "misc"}
    assert sorted(re.findall(r"\\entry\{([^}]+)\}\{(\w+)\}", bbl)) == sorted(
        (str(p.citekey), types[entry_type(p)]) for p in bib.papers)


# --------------------------------------------------------------------------------------------
# pandoc


def comparable(text: str) -> str:
    """Letters and digits only, case-folded, Greek letters and symbols spelled as their
    commands: pandoc sentence-cases titles and gives math (and \\ensuremath) as TeX source."""
    # Math braces we had to spell as commands for classic BibTeX read back as commands.
    text = text.replace("\\lbrace", "{").replace("\\rbrace", "}").casefold()
    for ch in set(text):
        command = math_char(ch)
        if command:
            text = text.replace(ch, command.casefold())
    return "".join(ch for ch in text if ch.isalnum())


def protected_words(title: str) -> list[str]:
    """Title words whose case pandoc must keep: the ones we brace, when plain ASCII."""
    words = []
    for word in tex_to_text(title).split():
        core = word.strip(".,:;!?()[]\"'")
        if re.fullmatch(r"[A-Za-z0-9/-]+", core) and needs_protection(core):
            words.append(core)
    return words


def pandoc_name(name: dict[str, str]) -> dict[str, str]:
    """A name's parts as the tests compare them. pandoc makes apostrophes typographic
    (d'Alembert → d’Alembert) and calls a BibTeX "von" a dropping particle."""
    name = {k: v.replace("\u2019", "'") for k, v in name.items()}
    if "literal" in name:
        return {"literal": name["literal"]}
    out = {"family": name.get("family", ""), "given": name.get("given", ""),
           "particle": name.get("non-dropping-particle", name.get("dropping-particle", "")),
           "suffix": name.get("suffix", "")}
    return {k: v for k, v in out.items() if v}


def expected_names(paper: Paper, case: dict[str, Any]) -> list[dict[str, str]]:
    if "expect_authors" in case:
        return list(case["expect_authors"])
    return [pandoc_name(n) for n in csl_names(paper.authors)]


def pandoc_items(path: Path, env: dict[str, str], *args: str) -> dict[str, dict[str, Any]]:
    done = run(["pandoc", *args, path.name, "-t", "csljson"], path.parent, env)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    return {i["id"]: i for i in json.loads(done.stdout)}


def pandoc_mismatches(items: dict[str, dict[str, Any]], papers: tuple[Paper, ...]) -> list[str]:
    """Where pandoc's reading of the .bib differs from the papers: title, protected words,
    authors, URL, DOI, version, code links, comment."""
    cases = {f"arxiv:{c['arxiv_id']}": c for c in stress_cases()}
    problems: list[str] = []

    def check(ok: bool, paper: Paper, what: str, got: object) -> None:
        if not ok:
            problems.append(f"{paper.citekey}: {what}: {got!r}")

    for paper in papers:
        item = items.get(str(paper.citekey))
        if item is None:
            problems.append(f"{paper.citekey}: missing")
            continue
        case = cases.get(paper.key, {})
        identifier = str(arxiv_id(paper))
        title = item.get("title", "")
        check(comparable(title) == comparable(tex_to_text(paper.title)), paper, "title", title)
        for word in case.get("protected", protected_words(paper.title)):
            check(word in title, paper, f"case of {word}", title)
        names = [pandoc_name(n) for n in item.get("author", [])]
        if truncated(paper.authors)[1]:  # "and others" is BibTeX's et al.; pandoc keeps it
            check(names.pop() == {"literal": "others"}, paper, "et al.", names)
        check(names == expected_names(paper, case), paper, "authors", names)
        check(item.get("URL") == f"https://arxiv.org/abs/{identifier}", paper, "URL",
              item.get("URL"))
        check(item.get("DOI") == doi_of(paper, identifier), paper, "DOI", item.get("DOI"))
        if case.get("expect_doi") and doi_of(paper, identifier) == doi_of(
                paper.model_copy(update={"published_version": None}), identifier):
            want = f"10.48550/arXiv.{identifier}" if case["expect_doi"] == "arxiv" \
                else case["expect_doi"]
            check(item.get("DOI") == want, paper, "expected DOI", item.get("DOI"))
        check(item.get("version") == arxiv_version(paper), paper, "version",
              item.get("version"))
        for url in code_urls(paper):
            check(url in item.get("note", ""), paper, "code link", item.get("note"))
        if paper.comment:
            check(comparable(item.get("annote", "")) == comparable(tex_to_text(paper.comment)),
                  paper, "comment", item.get("annote"))
    return problems


def test_pandoc_reads_back_every_title_author_and_identifier(bib: BibFile,
                                                            tool_env: dict[str, str]) -> None:
    work = bib.workdir("pandoc")
    items = pandoc_items(work / "refs.bib", tool_env)
    assert sorted(items) == bib.keys
    assert not pandoc_mismatches(items, bib.papers)


def test_pandoc_reads_the_eprint_fields_as_the_arxiv_paper(bib: BibFile,
                                                          tool_env: dict[str, str]) -> None:
    # With `url` gone, pandoc can only know the paper from eprint + archivePrefix.
    work = bib.workdir("pandoc-eprint")
    text = (work / "refs.bib").read_text(encoding="utf-8")
    (work / "refs.bib").write_text(re.sub(r"^  url +=.*\n", "", text, flags=re.MULTILINE),
                                   encoding="utf-8")
    items = pandoc_items(work / "refs.bib", tool_env)
    for paper in bib.papers:
        assert items[str(paper.citekey)]["URL"] == f"https://arxiv.org/abs/{arxiv_id(paper)}"


@pytest.fixture(scope="module", params=list(SETS))
def csl_file(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Paper, ...]]:
    base = tmp_path_factory.mktemp(f"csl-{request.param}")
    papers = tuple(keyed(SETS[request.param](), base / "state"))
    path = base / "references.json"
    path.write_text(render_csl_json(papers), encoding="utf-8")
    return path, papers


_CSL_FIELDS = ("type", "title", "author", "issued", "DOI", "URL", "number", "publisher",
               "version", "container-title", "container-title-short", "volume", "page",
               "note", "annote", "abstract")
_SUPERSCRIPTS = dict(zip("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ", strict=True))
_SUBSCRIPTS = dict(zip("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", strict=True))


def test_pandoc_reads_our_csl_json_unchanged(csl_file: tuple[Path, tuple[Paper, ...]],
                                             tool_env: dict[str, str]) -> None:
    path, _ = csl_file
    ours = {i["id"]: i for i in json.loads(path.read_text(encoding="utf-8"))}
    theirs = pandoc_items(path, tool_env, "-f", "csljson")
    assert sorted(theirs) == sorted(ours)

    def same(value: object) -> object:
        # pandoc makes quotes, dashes and ellipses typographic (its `smart` reading) and
        # turns 'single' quotes into "double" ones: compare every quote as one kind. Its CSL
        # reader takes Unicode super- and subscript digits for <sup>/<sub> markup.
        text = json.dumps(value, ensure_ascii=False)
        text = re.sub(r"<(sup|sub)>(.*?)</\1>", lambda m: "".join(
            (_SUPERSCRIPTS if m.group(1) == "sup" else _SUBSCRIPTS).get(ch, ch)
            for ch in m.group(2)), text)
        for plain, smart in (('\\"', "'\u2018\u2019\u201c\u201d"),
                             ("---", "\u2014"), ("--", "\u2013"), ("...", "\u2026")):
            for ch in smart:
                text = text.replace(ch, plain)
        return json.loads(text)

    for key, item in ours.items():
        # pandoc (citeproc) reads a leading note line `name:value` as a variable, so a
        # published paper's `arXiv:ID` line (kept by Zotero in Extra) leaves its note when
        # it comes first.
        if re.match(r"arXiv:\S+(\n|$)", item.get("note", "")):
            item["note"] = item["note"].partition("\n")[2] or None
        for name in _CSL_FIELDS:
            assert same(theirs[key].get(name)) == same(item.get(name)), (key, name)


def test_pandoc_citeproc_formats_every_csl_entry_without_warnings(
        csl_file: tuple[Path, tuple[Paper, ...]], tool_env: dict[str, str]) -> None:
    path, papers = csl_file
    (path.parent / "all.md").write_text('---\nnocite: "@*"\n---\n', encoding="utf-8")
    done = run(["pandoc", "all.md", "--citeproc", f"--bibliography={path.name}", "-t", "plain",
                "--wrap=none"], path.parent, tool_env)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    for paper in papers:
        assert doi_of(paper, str(arxiv_id(paper))) in done.stdout, paper.key


# --------------------------------------------------------------------------------------------
# Generated hostile text: no expectations, only that every program takes it

_PIECES = [*"abcXYZ .,-'&%#_@\"`{}\\$~^|<>", "é", "Ș", "ễ", "山", "Ж", "α", "—", "…", "ß", "Ł",
           "\\'e", '\\"o', "\\write18{x}", "$x_1$", "$5", " and ", " van ", " De ", " Jr.",
           ", ", "et al.", "\n", "\u200b"]


def generated_papers(seed: int = 2024, count: int = 60) -> list[Paper]:
    """Papers whose titles, names, comments and venues are random runs of the characters and
    fragments that trip BibTeX, biber and LaTeX (a fixed seed: the same file every run)."""
    rng = random.Random(seed)

    def text(longest: int) -> str:
        return "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, longest)))

    return [make_paper(f"2401.{92000 + i}", text(20), [text(12) for _ in range(rng.randint(1, 4))],
                  comment=text(15), journal_ref=text(10), abstract=text(30))
            for i in range(count)]


@pytest.fixture(scope="module", params=ENCODINGS)
def generated_bib(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> BibFile:
    base = tmp_path_factory.mktemp(f"generated-{request.param}")
    papers = keyed(generated_papers(), base / "state")
    path = base / "refs.bib"
    path.write_text(render_bibtex(papers, encoding=request.param), encoding="utf-8")
    return BibFile("generated", path, tuple(papers), request.param)


def test_generated_hostile_entries_pass_bibtex_biber_and_biblatex(
        generated_bib: BibFile, tool_env: dict[str, str]) -> None:
    bib = generated_bib
    for style in BIBTEX_STYLES[bib.encoding]:
        papers = bib.bibtex_papers(style)
        work = bib.workdir(f"bibtex-{style}", papers)
        natbib = "\\usepackage[numbers]{natbib}" if style.endswith("nat") else ""
        body = (f"\\begin{{document}}\n\\nocite{{*}}\n\\bibliographystyle{{{style}}}\n"
                "\\bibliography{refs}\n\\end{document}\n")
        _, log = compile_document(work, bib, natbib, body, ["bibtex"], tool_env)
        blg = (work / "doc.blg").read_text(encoding="utf-8", errors="replace")
        assert not bibtex_problems(blg), (style, bibtex_problems(blg))
        assert invalid_utf8((work / "doc.bbl").read_bytes()) is None, style
        assert not latex_problems(log), (style, latex_problems(log))
    work = bib.workdir("biber-tool")
    done = run(["biber", "--tool", "--validate-datamodel", "refs.bib"], work, tool_env)
    assert not biber_problems(done.stdout + done.stderr), biber_problems(done.stdout)
    work = bib.workdir("biblatex")
    packages = ("\\usepackage[backend=biber,style=authoryear,giveninits=true,"
                "uniquename=init]{biblatex}\n\\addbibresource{refs.bib}")
    body = "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n"
    output, log = compile_document(work, bib, packages, body, ["biber"], tool_env)
    assert not biber_problems(output), biber_problems(output)
    assert not latex_problems(log), latex_problems(log)


# --------------------------------------------------------------------------------------------
# The checks fail on broken input


_BROKEN_BIB = r"""@misc{dup, title = {T}, author = {A, B}, year = {2024}}
@misc{dup, title = {T2}, author = {A, B}, year = {2024}}
@misc{bad, title = {50% off}, author = {Doe, Jane}, date = {2024-13-45},
  eprint = {2401.00001}, archivePrefix = {arXiv}, eprinttype = {arxiv}}
@misc{open, title = {Unbalanced {brace}, author = {A, B}, year = {2024}}
"""


@pytest.fixture
def broken(tmp_path: Path) -> BibFile:
    path = tmp_path / "refs.bib"
    path.write_text(_BROKEN_BIB, encoding="utf-8")
    return BibFile("broken", path, (), "latex")


def test_the_checks_catch_what_bibtex_and_latex_report(broken: BibFile,
                                                       tool_env: dict[str, str]) -> None:
    work = broken.workdir("bibtex")
    body = ("\\begin{document}\n\\cite{nowhere}\\nocite{*}\n\\bibliographystyle{plain}\n"
            "\\bibliography{refs}\n\\end{document}\n")
    _, log = compile_document(work, broken, "", body, ["bibtex"], tool_env)
    assert bibtex_problems((work / "doc.blg").read_text(encoding="utf-8"))
    assert any(re.search(r"Citation `nowhere'.* undefined", line) for line in latex_problems(log))


def test_the_checks_catch_what_biber_reports(broken: BibFile,
                                             tool_env: dict[str, str]) -> None:
    work = broken.workdir("biber")
    done = run(["biber", "--tool", "--validate-datamodel", "refs.bib"], work, tool_env)
    problems = "\n".join(biber_problems(done.stdout))
    assert "Duplicate entry key" in problems
    assert "Invalid format '2024-13-45'" in problems
    assert "archiveprefix" in problems  # both spellings of the eprint type: biber drops one
    (work / "doc.blg").write_text(done.stdout.replace("WARN", "[9] Biber.pm:1> WARN"),
                                  encoding="utf-8")
    assert biber_problems((work / "doc.blg").read_text(encoding="utf-8"))


def test_the_checks_catch_what_pandoc_gets_wrong(tmp_path: Path,
                                                 tool_env: dict[str, str]) -> None:
    paper = keyed(stress_papers()[:1], tmp_path / "state")[0]
    raw = "\n".join([f"@misc{{{paper.citekey},",  # a title nobody escaped, names reversed
                     "  title = {{CyCLIP}: 50% Cyclic},",
                     "  author = {Shashank Goel and Grover Aditya}}"])
    (tmp_path / "raw.bib").write_text(raw + "\n", encoding="utf-8")
    problems = pandoc_mismatches(pandoc_items(tmp_path / "raw.bib", tool_env), (paper,))
    assert any(": title:" in p for p in problems)
    assert any(": authors:" in p for p in problems)
    assert any(": URL:" in p for p in problems)


@pytest.mark.parametrize(("name", "encoding", "program", "style", "valid"), [
    ("Émile Müller", "utf8", "bibtex", "abbrvnat", False),  # a 2-byte initial, cut in half
    ("Émile Müller", "latex", "bibtex", "abbrvnat", True),  # {\\'{E}}: one character
    ("Ștefan Țurcanu", "latex", "bibtex", "abbrvnat", False),  # no command every reader takes
    ("Жанна Иванова", "latex", "bibtex", "abbrvnat", False),
    ("山田太郎", "latex", "bibtex", "alpha", False),  # alpha's label: the first bytes
    ("Ștefan Țurcanu", "latex", "bibtexu", "abbrvnat", True),  # Unicode BibTeX: whole letters
    ("Жанна Иванова", "utf8", "bibtexu", "abbrvnat", True),
    ("Émile Müller", "utf8", "bibtexu", "abbrvnat", True),
    ("山田太郎", "latex", "bibtexu", "alpha", True),
    ("Αλέξανδρος Παπαδόπουλος", "latex", "bibtexu", "abbrvnat", True),
])
def test_which_names_8bit_bibtex_can_abbreviate_and_that_the_check_sees_it(
        name: str, encoding: str, program: str, style: str, valid: bool, tmp_path: Path,
        tool_env: dict[str, str]) -> None:
    # Why `latex` is the default encoding, why abbreviating styles also run with bibtexu, and
    # that invalid_utf8 catches a cut letter.
    papers = keyed([make_paper("2401.90009", "Initials", [name, "Ana Smith"])],
                   tmp_path / "state")
    (tmp_path / "refs.bib").write_text(render_bibtex(papers, encoding=encoding),  # type: ignore[arg-type]
                                       encoding="utf-8")
    (tmp_path / "refs.aux").write_text(f"\\citation{{*}}\n\\bibstyle{{{style}}}\n"
                                       "\\bibdata{refs}\n", encoding="utf-8")
    run([program, "refs"], tmp_path, tool_env)
    bbl = (tmp_path / "refs.bbl").read_bytes()
    assert b"Smith" in bbl
    assert (invalid_utf8(bbl) is None) is valid


# --------------------------------------------------------------------------------------------
# Versions


def test_the_programs_report_their_versions(tool_env: dict[str, str], tmp_path: Path,
                                            record_property: Callable[[str, object], None],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    versions = {}
    for program in ("bibtex", "biber", "pdflatex", "pandoc"):
        done = run([program, "--version"], tmp_path, tool_env)
        assert done.returncode == 0, done.stderr
        versions[program] = done.stdout.splitlines()[0]
    sty = run(["kpsewhich", "biblatex.sty"], tmp_path, tool_env).stdout.strip()
    match = re.search(r"\\def\\abx@version\{([^}]+)\}", Path(sty).read_text(encoding="utf-8"))
    versions["biblatex"] = f"biblatex {match.group(1) if match else '?'}"
    record_property("tool_versions", versions)
    with capsys.disabled():
        print("\nreference programs:", "; ".join(versions.values()))


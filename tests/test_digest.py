"""The digest parser: the two real seeds, their markdown sources, and table-driven edge cases.

Expected values are written out literally from reading the seed files, never computed by the
parser. Malformed files beyond the basic typed errors live in `test_hostile_digests.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import enrich.digest.parse
from enrich.digest.model import Digest
from enrich.digest.parse import parse_digest, read_digest
from enrich.errors import (
    BinaryDigestError,
    DigestEncodingError,
    DigestError,
    EmptyDigestError,
    MissingDateError,
    NoEntriesError,
    TruncatedEntryError,
)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
FIXTURES = Path(__file__).parent / "fixtures" / "digests"
SEED_2022 = "000_024a476f5ee58d5f"
SEED_2024 = "001_7124c519675a2515"
CATEGORY = "无监督/半监督/对比学习"

# (line of the title, title, authors, comment, code URLs, arXiv ID in the markdown source)
SEED_2022_ENTRIES: list[tuple[int, str, tuple[str, ...], str | None, tuple[str, ...], str]] = [
    (6, "CyCLIP: Cyclic Contrastive Language-Image Pretraining",
     ("Shashank Goel", "Hritik Bansal", "Sumit Bhatia", "Ryan A. Rossi", "Vishwa Vinay",
      "Aditya Grover"),
     "19 pages, 13 tables, 6 figures, Oral at NeuRIPS 2022",
     ("https://github.com/goel-shashank/CyCLIP",), "2205.14459"),
    (15, "IDEAL: Improved DEnse locAL Contrastive Learning for Semi-Supervised Medical Image "
         "Segmentation",
     ("Hritam Basak", "Soumitri Chattopadhyay", "Rohit Kundu", "Sayan Nag", "Rammohan Mallipeddi"),
     None, (), "2210.15075"),
    (24, "Energy-Based Contrastive Learning of Visual Representations",
     ("Beomsu Kim", "Jong Chul Ye"),
     "NeurIPS 2022 Oral Paper", ("https://github.com/1202kbs/EBCLR",), "2202.04933"),
    (33, "Contrastive Attention for Automatic Chest X-ray Report Generation",
     ("Xuewei Ma", "Fenglin Liu", "Changchang Yin", "Xian Wu", "Shen Ge", "Yuexian Zou",
      "Ping Zhang", "Xu Sun"),
     "Appear in Findings of ACL 2021 (The Joint Conference of the 59th Annual Meeting of the "
     "Association for Computational Linguistics and the 11th International Joint Conference on "
     "Natural Language Processing (ACL-IJCNLP 2021))",
     (), "2106.06965"),
]

SEED_2024_ENTRIES: list[tuple[int, str, tuple[str, ...], str | None, tuple[str, ...], str]] = [
    (6, "Curriculum learning based pre-training using Multi-Modal Contrastive Masked "
        "Autoencoders",
     ("Muhammad Abdullah Jamal", "Omid Mohareri"), None, (), "2408.02245"),
    (15, "Contrastive Learning for Image Complexity Representation",
     ("Shipeng Liu", "Liang Zhao", "Dengfeng Chen", "Zhanping Song"), None, (), "2408.03230"),
    (24, "Weakly Contrastive Learning via Batch Instance Discrimination and Feature Clustering "
         "for Small Sample SAR ATR",
     ("Yikui Zhai", "Wenlve Zhou", "Bing Sun", "Jingwen Li", "Qirui Ke", "Zilu Ying",
      "Junying Gan", "Chaoyun Mai", "Ruggero Donida Labati", "Vincenzo Piuri", "Fabio Scotti"),
     None, ("https://github.com/Wenlve-Zhou/BIDFC-master",), "2408.03627"),
    (33, "ComKD-CLIP: Comprehensive Knowledge Distillation for Contrastive Language-Image "
         "Pre-traning Model",
     ("Yifan Chen", "Xiaozhen Qiao", "Zhe Sun", "Xuelong Li"), "update", (), "2408.04145"),
    (42, "Img-Diff: Contrastive Data Synthesis for Multimodal Large Language Models",
     ("Qirui Jiao", "Daoyuan Chen", "Yilun Huang", "Yaliang Li", "Ying Shen"),
     "14 pages, 9 figures, 7 tables",
     ("https://github.com/modelscope/data-juicer/tree/ImgDiff",), "2408.04594"),
    (51, "Content-decoupled Contrastive Learning-based Implicit Degradation Modeling for Blind "
         "Image Super-Resolution",
     ("Jiang Yuan", "Ji Ma", "Bo Wang", "Weiming Hu"), None, (), "2408.05440"),
    (60, "Contrastive masked auto-encoders based self-supervised hashing for 2D image and 3D "
         "point cloud cross-modal retrieval",
     ("Rukai Wei", "Heng Cui", "Yu Liu", "Yufeng Hou", "Yanzhao Xie", "Ke Zhou"),
     "Accepted by ICME 2024", (), "2408.05711"),
    (69, "A Simple Task-aware Contrastive Local Descriptor Selection Strategy for Few-shot "
         "Learning between inter class and intra class",
     ("Qian Qiao", "Yu Xie", "Shaoyao Huang", "Fanzhang Li"), "Submitted to ICANN 2024", (),
     "2408.05953"),
    (78, "Boosting Adverse Weather Crowd Counting via Multi-queue Contrastive Learning",
     ("Tianhang Pan", "Zhuoran Zheng", "Xiuyi Jia"), "11 pages, 7 figures", (), "2408.05956"),
    (87, "Class-aware and Augmentation-free Contrastive Learning from Label Proportion",
     ("Jialiang Wang", "Ning Zhang", "Shimin Di", "Ruidong Wang", "Lei Chen"), None, (),
     "2408.06743"),
]

# First and last words of each abstract, to show the abstract is whole and nothing else.
ABSTRACT_ENDS = {
    SEED_2022: [
        ("Recent advances in contrastive", "https://github.com/goel-shashank/CyCLIP."),
        ("Due to the scarcity", "by fair margins on cardiac MRI segmentation."),
        ("Contrastive learning is a method", "https://github.com/1202kbs/EBCLR"),
        ("Recently, chest X-ray report", "results on the two public datasets."),
    ],
    SEED_2024: [
        ("In this paper, we propose a new pre-training method", "state-of-the-art methods."),
        ("Quantifying and evaluating image complexity", "effectively improve their performance."),
        ("In recent years, impressive performance", "https://github.com/Wenlve-Zhou/BIDFC-master."),
        ("Contrastive Language-Image Pre-training (CLIP)", "superiority of the proposed method."),
        ("High-performance Multimodal Large Language Models", "/data-juicer/tree/ImgDiff."),
        ("Implicit degradation modeling-based", "still achieves very competitive results."),
        ("Implementing cross-modal hashing", "outperforms all baseline methods."),
        ("Few-shot image classification aims", "both general and fine-grained datasets."),
        ("Currently, most crowd counting methods", "method achieves competitive performance."),
        ("Learning from Label Proportion (LLP)", "performance for LLP in the tabular domain."),
    ],
}

SEEDS_EXPECTED = {
    SEED_2022: (dt.date(2022, 10, 31), SEED_2022_ENTRIES),
    SEED_2024: (dt.date(2024, 8, 16), SEED_2024_ENTRIES),
}


def _check_seed(digest: Digest, stem: str, *, markdown: bool,
                lines: list[int] | None = None) -> None:
    day, expected = SEEDS_EXPECTED[stem]
    assert digest.category == CATEGORY
    assert digest.date == day
    assert digest.form == ("markdown" if markdown else "text")
    assert digest.problems == ()
    assert len(digest.entries) == len(expected)
    for n, (entry, (line, title, authors, comment, code, arxiv_id)) in enumerate(
            zip(digest.entries, expected, strict=True)):
        assert entry.index == n
        assert entry.title == title
        assert entry.authors == authors
        assert entry.comment == comment
        assert entry.code_urls == code
        assert entry.date == day
        assert entry.line == (lines[n] if lines is not None else line)
        assert entry.arxiv_id_hint == (arxiv_id if markdown else None)
        start, end = ABSTRACT_ENDS[stem][n]
        assert entry.abstract.startswith(start)
        assert entry.abstract.endswith(end)
        assert "\n" not in entry.abstract and "  " not in entry.abstract
        assert "PDF" not in entry.abstract.split()[-1]


# --------------------------------------------------------------------------------------------
# The real seeds


def test_the_2022_seed_parses_to_its_four_papers() -> None:
    digest = read_digest(SEEDS / f"{SEED_2022}.txt")
    assert digest.file == f"{SEED_2022}.txt"
    assert len(digest.entries) == 4
    _check_seed(digest, SEED_2022, markdown=False)


def test_the_2024_seed_parses_to_its_ten_papers() -> None:
    digest = read_digest(SEEDS / f"{SEED_2024}.txt")
    assert len(digest.entries) == 10
    _check_seed(digest, SEED_2024, markdown=False)


# Lines of the `## title` headings in the markdown fixtures (read off the files).
MARKDOWN_TITLE_LINES = {
    SEED_2022: [14, 34, 47, 67],
    SEED_2024: [14, 34, 47, 67, 87, 100, 120, 140, 153, 173],
}


@pytest.mark.parametrize("stem", [SEED_2022, SEED_2024])
def test_the_markdown_source_gives_the_same_entries_plus_arxiv_ids(stem: str) -> None:
    digest = read_digest(FIXTURES / f"{stem}.md")
    _check_seed(digest, stem, markdown=True, lines=MARKDOWN_TITLE_LINES[stem])
    text = read_digest(SEEDS / f"{stem}.txt")
    ignore: Any = {"line", "arxiv_id_hint"}
    assert [e.model_dump(exclude=ignore) for e in digest.entries] == [
        e.model_dump(exclude=ignore) for e in text.entries]
    # Summary sections and screenshot blocks never leak into an abstract.
    for entry in digest.entries:
        assert "Summary" not in entry.abstract and "<" not in entry.abstract
        assert "本文提出" not in entry.abstract


@pytest.mark.parametrize("stem", [SEED_2022, SEED_2024])
def test_markdown_title_lines_point_at_the_headings(stem: str) -> None:
    raw = (FIXTURES / f"{stem}.md").read_text(encoding="utf-8").split("\n")
    for entry in read_digest(FIXTURES / f"{stem}.md").entries:
        assert raw[entry.line - 1] == f"## {entry.title}"


# --------------------------------------------------------------------------------------------
# Edge cases: small digests written out in full

HEAD = "Cat\n\n\n2024-01-02 更新\n\n"
SHOT = "\n点此查看论文截图\n\n"
FOOT = "文章作者: 木子已\n版权声明: 本博客所有文章除特別声明外。\n  目录\n"


def _entry(title: str, authors: str = "Authors:Ann Lee, Bo Chen",
           abstract: str = "We study things.", pdf: str = "PDF") -> str:
    return f"{title}\n\n{authors}\n\n{abstract}\n{pdf}\n{SHOT}"


# (id, text, expected [(line, title, authors, abstract, comment, arxiv_id_hint, date)])
E = tuple[int, str, tuple[str, ...], str, str | None, str | None, dt.date]
D1, D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2023, 12, 31)
AB = ("Ann Lee", "Bo Chen")
EDGE_CASES: list[tuple[str, str, list[E]]] = [
    ("basic", HEAD + _entry("A Title") + FOOT,
     [(6, "A Title", AB, "We study things.", None, None, D1)]),
    ("trailing spaces and tabs",
     "Cat \t\n\n\n2024-01-02 更新  \n\n\tA  Title\t \n\nAuthors:\tAnn Lee ,\tBo Chen  \n\n"
     "We  study\tthings.  \nPDF   12 pages \t\n\n点此查看论文截图 \n\n" + FOOT,
     [(6, "A Title", AB, "We study things.", "12 pages", None, D1)]),
    ("several date sections",
     HEAD + _entry("First") + "2024-01-03 更新\n\n" + _entry("Second") + _entry("Third")
     + "2023-12-31 更新\n\n" + _entry("Fourth") + FOOT,
     [(6, "First", AB, "We study things.", None, None, D1),
      (17, "Second", AB, "We study things.", None, None, D2),
      (26, "Third", AB, "We study things.", None, None, D2),
      (37, "Fourth", AB, "We study things.", None, None, D3)]),
    ("title punctuation, math, quotes, non-ASCII",
     HEAD + _entry("Why $\\mathcal{O}(n^2)$? A “quoted” 'study': Ünïcödé 对比学习 — ok!",
                   "Authors:José Ñúñez, 王小明, O'Brien-Smith") + FOOT,
     [(6, "Why $\\mathcal{O}(n^2)$? A “quoted” 'study': Ünïcödé 对比学习 — ok!",
       ("José Ñúñez", "王小明", "O'Brien-Smith"), "We study things.", None, None, D1)]),
    ("wrapped title and abstract",
     HEAD + "A Title That Was\nWrapped Over Lines\n\nAuthors:Ann Lee, Bo Chen\n\n"
     "We study\nthings at length.\nPDF 9 pages\n" + SHOT + FOOT,
     [(6, "A Title That Was Wrapped Over Lines", AB, "We study things at length.", "9 pages",
       None, D1)]),
    ("an abstract wrapped so that a footer word stands alone on a line",
     HEAD + "A Title\n\nAuthors:Ann Lee, Bo Chen\n\nWe compare newer and\nOLDER\nmodels, "
     "then the\nNext\nones.\nPDF\n" + SHOT + "Next\n" + _entry("After") + FOOT,
     [(6, "A Title", AB, "We compare newer and OLDER models, then the Next ones.", None, None,
       D1),
      (20, "After", AB, "We study things.", None, None, D1)]),
    ("double-spaced title",
     HEAD + "A Title That Was\n\nDouble Spaced\n\nAuthors:Ann Lee, Bo Chen\n\nWe study things."
     "\nPDF\n" + SHOT + FOOT,
     [(6, "A Title That Was Double Spaced", AB, "We study things.", None, None, D1)]),
    ("entry without an Authors line",
     HEAD + "No Authors Here\n\nWe study things.\nPDF update\n" + SHOT + _entry("Next One")
     + FOOT,
     [(6, "No Authors Here", (), "We study things.", "update", None, D1),
      (13, "Next One", AB, "We study things.", None, None, D1)]),
    ("entry without a PDF line",
     HEAD + "No PDF Here\n\nAuthors:Ann Lee, Bo Chen\n\nWe study things.\n" + SHOT
     + _entry("Next One") + FOOT,
     [(6, "No PDF Here", AB, "We study things.", None, None, D1),
      (14, "Next One", AB, "We study things.", None, None, D1)]),
    ("footer and navigation are not papers",
     HEAD + _entry("Only Paper") + FOOT + "上一篇\nSome Older Post Title\n下一篇\n",
     [(6, "Only Paper", AB, "We study things.", None, None, D1)]),
    ("arXiv ID from an abs URL",
     HEAD + _entry("T", abstract="See https://arxiv.org/abs/2205.14459v2 for more.") + FOOT,
     [(6, "T", AB, "See https://arxiv.org/abs/2205.14459v2 for more.", None, "2205.14459",
       D1)]),
    ("arXiv ID from a pdf URL",
     HEAD + _entry("T", abstract="Full text: http://arxiv.org/pdf/2106.06965v4.pdf") + FOOT,
     [(6, "T", AB, "Full text: http://arxiv.org/pdf/2106.06965v4.pdf", None, "2106.06965", D1)]),
    ("arXiv ID written as arXiv:ID",
     HEAD + _entry("T", abstract="This extends arXiv:2205.14459.") + FOOT,
     [(6, "T", AB, "This extends arXiv:2205.14459.", None, "2205.14459", D1)]),
    ("old-style arXiv ID in the comment",
     HEAD + _entry("T", pdf="PDF 12 pages; also hep-th/9901001") + FOOT,
     [(6, "T", AB, "We study things.", "12 pages; also hep-th/9901001", "hep-th/9901001", D1)]),
    ("old-style arXiv ID as arXiv:ID",
     HEAD + _entry("T", abstract="Superseded by arXiv:math.GT/0309136v2.") + FOOT,
     [(6, "T", AB, "Superseded by arXiv:math.GT/0309136v2.", None, "math.GT/0309136", D1)]),
    ("two different IDs give no hint",
     HEAD + _entry("T", abstract="Unlike arXiv:2205.14459 and arXiv:2106.06965.") + FOOT,
     [(6, "T", AB, "Unlike arXiv:2205.14459 and arXiv:2106.06965.", None, None, D1)]),
    ("a number that only looks like an ID is none",
     HEAD + _entry("T", abstract="Accuracy rose from 2205.14 to 2205.14459 points.") + FOOT,
     [(6, "T", AB, "Accuracy rose from 2205.14 to 2205.14459 points.", None, None, D1)]),
    ("full-width colon after Authors",
     HEAD + _entry("T", authors="Authors：Ann Lee，Bo Chen") + FOOT,
     [(6, "T", AB, "We study things.", None, None, D1)]),
    ("no footer at all", HEAD + _entry("T"),
     [(6, "T", AB, "We study things.", None, None, D1)]),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in EDGE_CASES],
                         ids=[i for i, _, _ in EDGE_CASES])
def test_edge_case_digests_parse_to_the_expected_entries(text: str, expected: list[E]) -> None:
    digest = parse_digest(text, "edge.txt")
    got = [(e.line, e.title, e.authors, e.abstract, e.comment, e.arxiv_id_hint, e.date)
           for e in digest.entries]
    assert got == expected
    assert [e.index for e in digest.entries] == list(range(len(expected)))
    assert digest.problems == ()


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda s: s.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda s: "\ufeff" + s, id="bom"),
        pytest.param(lambda s: "\ufeff" + s.replace("\n", "\r\n"), id="bom+crlf"),
        pytest.param(lambda s: s.replace("\n", "\r"), id="old-mac-cr"),
        pytest.param(lambda s: s.replace("\n", " \t\n"), id="trailing-whitespace"),
        pytest.param(lambda s: s.replace(", ", ",\t"), id="tabs-between-authors"),
    ],
)
@pytest.mark.parametrize("stem", [SEED_2022, SEED_2024])
def test_line_endings_bom_and_whitespace_change_nothing(transform: Any, stem: str,
                                                        tmp_path: Path) -> None:
    raw = (SEEDS / f"{stem}.txt").read_text(encoding="utf-8")
    path = tmp_path / f"{stem}.txt"
    path.write_bytes(transform(raw).encode("utf-8"))
    digest = read_digest(path)
    _check_seed(digest, stem, markdown=False)


def test_a_seed_saved_as_utf16_with_bom_parses_the_same(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes((SEEDS / f"{SEED_2022}.txt").read_text(encoding="utf-8").encode("utf-16"))
    digest = read_digest(path)
    _check_seed(digest, SEED_2022, markdown=False)


def test_markdown_crlf_and_bom_change_nothing(tmp_path: Path) -> None:
    raw = (FIXTURES / f"{SEED_2024}.md").read_text(encoding="utf-8")
    path = tmp_path / "x.md"
    path.write_bytes(("\ufeff" + raw.replace("\n", "\r\n")).encode("utf-8"))
    _check_seed(read_digest(path), SEED_2024, markdown=True,
                lines=MARKDOWN_TITLE_LINES[SEED_2024])


def test_screenshot_marker_and_footer_lines_never_become_entries() -> None:
    digest = read_digest(SEEDS / f"{SEED_2024}.txt")
    for entry in digest.entries:
        for text in (entry.title, entry.abstract, entry.comment or ""):
            assert "点此查看论文截图" not in text
            assert "文章作者" not in text and "版权声明" not in text and "目录" not in text


def test_the_markdown_edge_case_file_parses(tmp_path: Path) -> None:
    digest = read_digest(FIXTURES / "edge" / "sections_and_blocks.md")
    got = [(e.line, e.title, e.authors, e.comment, e.arxiv_id_hint, e.date)
           for e in digest.entries]
    assert got == [
        (13, "Why $x^2$? A “quoted” title: [sic]", ("José Ñúñez", "Bo Chen"), "update",
         "2205.14459", D1),
        (27, "No Authors Line", (), None, "hep-th/9901001", D1),
        (35, "No PDF Line", ("Ann Lee",), None, None, D2),
        (45, "Last One", ("Ann Lee",), "Accepted by ICME 2024", "2408.05711", D2),
    ]
    assert digest.entries[0].abstract == "An abstract with a link (https://github.com/o/r)."
    assert digest.entries[0].code_urls == ("https://github.com/o/r",)
    assert digest.entries[2].abstract == "Abstract before a summary."
    assert digest.problems == ()


# --------------------------------------------------------------------------------------------
# Typed errors naming file and line


ERROR_CASES: list[tuple[str, bytes, type[DigestError], int]] = [
    ("empty file", b"", EmptyDigestError, 1),
    ("only whitespace", b" \n\t\r\n\n", EmptyDigestError, 1),
    ("binary file (PNG)", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, BinaryDigestError, 3),
    ("NUL bytes on line 4", b"Cat\n\n2024-01-02 \xe6\x9b\xb4\n\x00\x00\x01\x02", BinaryDigestError,
     4),
    ("undecodable byte on line 6", HEAD.encode() + b"T\xff\xfe itle\n", DigestEncodingError, 6),
    ("GBK on line 1", "无监督/半监督/对比学习\n".encode("gbk"), DigestEncodingError, 1),
    ("no date line (names the first Authors line)", b"Cat\n\nT\n\nAuthors:Ann Lee\n\nabs\nPDF\n",
     MissingDateError, 5),
    ("date line but no entries", (HEAD + FOOT).encode(), NoEntriesError, 4),
    ("only a truncated entry", (HEAD + "A Title\n\nAuthors:Ann Lee\n\nWe stu").encode(),
     TruncatedEntryError, 6),
]


@pytest.mark.parametrize(("data", "error", "line"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_bad_files_raise_a_typed_error_naming_file_and_line(
        data: bytes, error: type[DigestError], line: int, tmp_path: Path) -> None:
    path = tmp_path / "bad-digest.txt"
    path.write_bytes(data)
    with pytest.raises(error) as info:
        read_digest(path)
    exc = info.value
    assert exc.kind == error.kind
    assert exc.file == "bad-digest.txt"
    assert exc.line == line
    assert f"bad-digest.txt:{line}:" in str(exc)


def test_a_truncated_last_entry_keeps_the_complete_ones_and_records_a_problem() -> None:
    text = HEAD + _entry("Complete One") + _entry("Complete Two") + "Cut Off\n\nAuthors:Ann"
    digest = parse_digest(text, "cut.txt")
    assert [e.title for e in digest.entries] == ["Complete One", "Complete Two"]
    assert [(p.kind, p.file, p.line) for p in digest.problems] == [
        ("truncated_entry", "cut.txt", 24)]
    assert "PDF" in digest.problems[0].message


def test_a_seed_cut_in_the_middle_of_an_abstract_keeps_the_papers_before(tmp_path: Path) -> None:
    raw = (SEEDS / f"{SEED_2024}.txt").read_bytes()
    cut = raw.index(b"Implementing cross-modal hashing") + 40  # inside paper 7's abstract
    path = tmp_path / "cut.txt"
    path.write_bytes(raw[:cut])
    digest = read_digest(path)
    assert len(digest.entries) == 6
    assert digest.entries[-1].title.startswith("Content-decoupled")
    assert [(p.kind, p.file, p.line) for p in digest.problems] == [
        ("truncated_entry", "cut.txt", 60)]


def test_a_file_cut_inside_a_multibyte_character_names_the_line(tmp_path: Path) -> None:
    raw = (SEEDS / f"{SEED_2022}.txt").read_bytes()
    path = tmp_path / "cut.txt"
    path.write_bytes(raw[: raw.index("目录".encode()) + 1])
    with pytest.raises(DigestEncodingError) as info:
        read_digest(path)
    assert info.value.line == 44  # the last line, `  目录`, has no newline
    assert "cut.txt:44" in str(info.value)


def test_an_invalid_date_names_its_line() -> None:
    with pytest.raises(DigestError) as info:
        parse_digest("Cat\n\n2024-13-45 更新\n\n" + _entry("T"), "d.txt")
    assert (info.value.file, info.value.line) == ("d.txt", 3)
    assert "2024-13-45" in str(info.value)


def test_an_unreadable_path_is_a_digest_error(tmp_path: Path) -> None:
    with pytest.raises(DigestError) as info:
        read_digest(tmp_path / "missing.txt")
    assert info.value.file == "missing.txt"
    assert "missing.txt" in str(info.value)


# --------------------------------------------------------------------------------------------
# The `parse` command, as a user runs it


def _cli(*files: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", "parse", *map(str, files)],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_the_parse_command_prints_both_seeds_as_json() -> None:
    result = _cli(*sorted(SEEDS.glob("*.txt")))
    assert result.returncode == 0, result.stderr
    digests = json.loads(result.stdout)
    assert [d["file"] for d in digests] == [f"{SEED_2022}.txt", f"{SEED_2024}.txt"]
    assert [d["date"] for d in digests] == ["2022-10-31", "2024-08-16"]
    assert [d["category"] for d in digests] == [CATEGORY, CATEGORY]
    entries = [e for d in digests for e in d["entries"]]
    assert len(entries) == 14
    expected = SEED_2022_ENTRIES + SEED_2024_ENTRIES
    assert [e["title"] for e in entries] == [x[1] for x in expected]
    assert [tuple(e["authors"]) for e in entries] == [x[2] for x in expected]
    assert [e["line"] for e in entries] == [x[0] for x in expected]
    assert result.stderr == ""


def test_the_parse_command_reports_a_bad_file_and_prints_the_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "broken.txt"
    bad.write_bytes(HEAD.encode() + b"A Title\n\nAuthors:Ann \xff Lee\n")
    result = _cli(SEEDS / f"{SEED_2022}.txt", bad, SEEDS / f"{SEED_2024}.txt")
    assert result.returncode == 1
    digests = json.loads(result.stdout)
    assert [len(d["entries"]) for d in digests] == [4, 10]
    assert "broken.txt:8:" in result.stderr
    assert "UTF-8" in result.stderr


# --------------------------------------------------------------------------------------------
# Markdown blocks left open, and other traps found while hardening the parser

MD_HEAD = "---\ntitle: Cat\n---\n\n# 2024-01-02 更新\n\n"


def _md_entry(title: str, arxiv_id: str = "2205.14459", *, details: str = "</details>\n") -> str:
    return (f"## {title}\n\n**Authors:Ann Lee, Bo Chen**\n\nWe study things.\n\n"
            f"[PDF](http://arxiv.org/abs/{arxiv_id}v1) 9 pages\n\n"
            f"<details>\n  <summary>点此查看论文截图</summary>\n<img src=\"x.jpg\">\n{details}\n")


# (id, markdown, expected [(line, title, authors, comment, hint)], expected problems)
MD_CASES: list[tuple[str, str, list[tuple[int, str, tuple[str, ...], str | None, str | None]],
                     list[tuple[str, int]]]] = [
    ("an unclosed details block ends at the next title",
     MD_HEAD + _md_entry("One", details="") + _md_entry("Two", "2106.06965"),
     [(7, "One", AB, "9 pages", "2205.14459"), (19, "Two", AB, "9 pages", "2106.06965")], []),
    ("an unclosed HTML comment hides only its own line",
     MD_HEAD + "<!-- never closed\n\n" + _md_entry("One") + _md_entry("Two", "2106.06965"),
     [(9, "One", AB, "9 pages", "2205.14459"), (22, "Two", AB, "9 pages", "2106.06965")],
     [("malformed_markdown", 7)]),
    ("unclosed front matter hides only its opening line",
     "---\ntitle: Cat\n\n# 2024-01-02 更新\n\n" + _md_entry("One"),
     [(6, "One", AB, "9 pages", "2205.14459")], [("malformed_markdown", 1)]),
    ("bold label only: **Authors:** names",
     MD_HEAD + "## One\n\n**Authors:** Ann Lee, Bo Chen\n\nabs\n\n"
     "[PDF](http://arxiv.org/abs/2205.14459v1)\n",
     [(7, "One", AB, None, "2205.14459")], []),
    ("a closing hash sequence is not part of the title",
     MD_HEAD + "## Closed Heading ##\n\n**Authors:Ann Lee, Bo Chen**\n\nabs\n\n"
     "[PDF](http://arxiv.org/abs/2205.14459v1)\n",
     [(7, "Closed Heading", AB, None, "2205.14459")], []),
    ("escaped brackets never make a link",
     MD_HEAD + "## \\[a\\](b) and [c](http://d.e)\n\n**Authors:Ann Lee, Bo Chen**\n\nabs\n\n"
     "[PDF](http://arxiv.org/abs/2205.14459v1)\n",
     [(7, "[a](b) and c (http://d.e)", AB, None, "2205.14459")], []),
    ("a summary heading before the PDF line does not hide it",
     MD_HEAD + "## One\n\n**Authors:Ann Lee, Bo Chen**\n\nabs\n\n### Summary\n\nnot abstract\n\n"
     "[PDF](http://arxiv.org/abs/2205.14459v1) late comment\n",
     [(7, "One", AB, "late comment", "2205.14459")], []),
    ("a javascript PDF link gives no ID and a clean comment",
     MD_HEAD + "## One\n\n**Authors:Ann Lee, Bo Chen**\n\nabs\n\n"
     "[PDF](javascript:alert(1)) 9 pages\n",
     [(7, "One", AB, "9 pages", None)], []),
]


@pytest.mark.parametrize(("text", "expected", "problems"), [c[1:] for c in MD_CASES],
                         ids=[c[0] for c in MD_CASES])
def test_markdown_traps_parse_to_the_expected_entries(
        text: str, expected: list[tuple[int, str, tuple[str, ...], str | None, str | None]],
        problems: list[tuple[str, int]]) -> None:
    digest = parse_digest(text, "trap.md")
    assert digest.form == "markdown"
    assert digest.category == "Cat"
    assert [(e.line, e.title, e.authors, e.comment, e.arxiv_id_hint)
            for e in digest.entries] == expected
    assert [(p.kind, p.line) for p in digest.problems] == problems
    assert all(e.abstract == "abs" or e.abstract == "We study things." for e in digest.entries)


TEXT_TRAPS: list[tuple[str, str, list[tuple[int, str, str | None, str | None]]]] = [
    ("a title that is a navigation word",
     HEAD + _entry("Next") + _entry("Older") + FOOT,
     [(6, "Next", None, None), (15, "Older", None, None)]),
    ("a title that starts like an Authors line",
     HEAD + _entry("Authors: Who Writes the Papers?") + FOOT,
     [(6, "Authors: Who Writes the Papers?", None, None)]),
    ("a title that starts with the word PDF, without screenshot lines",
     HEAD + "One\n\nAuthors:Ann Lee, Bo Chen\n\nWe study things.\nPDF 3 pages\n\n"
     "PDF Parsing Revisited\n\nAuthors:Ann Lee, Bo Chen\n\nWe study things.\nPDF\n" + FOOT,
     [(6, "One", "3 pages", None), (13, "PDF Parsing Revisited", None, None)]),
    ("an arXiv admin note names another paper, not this one",
     HEAD + _entry("T", pdf="PDF 9 pages. arXiv admin note: text overlap with arXiv:2101.00001")
     + FOOT,
     [(6, "T", "9 pages. arXiv admin note: text overlap with arXiv:2101.00001", None)]),
    ("the paper's own ID survives an admin note",
     HEAD + _entry("T", abstract="Extended version of arXiv:2205.14459.",
                   pdf="PDF arXiv admin note: substantial text overlap with arXiv:2101.00001")
     + FOOT,
     [(6, "T", "arXiv admin note: substantial text overlap with arXiv:2101.00001",
       "2205.14459")]),
    ("runs of blank lines keep every line number",
     HEAD + "\n" * 500 + _entry("Far Down") + "\n\n\n" + _entry("Further") + FOOT,
     [(506, "Far Down", None, None), (518, "Further", None, None)]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in TEXT_TRAPS],
                         ids=[c[0] for c in TEXT_TRAPS])
def test_text_traps_parse_to_the_expected_entries(
        text: str, expected: list[tuple[int, str, str | None, str | None]]) -> None:
    digest = parse_digest(text, "trap.txt")
    assert [(e.line, e.title, e.comment, e.arxiv_id_hint) for e in digest.entries] == expected
    assert all(e.authors == AB for e in digest.entries)
    assert digest.problems == ()


def test_a_file_with_absurdly_many_lines_is_refused_at_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enrich.digest.parse, "MAX_DIGEST_LINES", 50)
    with pytest.raises(DigestError) as info:
        parse_digest(HEAD + "x\n" * 100, "lines.txt")
    assert (info.value.file, info.value.line) == ("lines.txt", 51)
    assert "lines.txt:51:" in str(info.value) and "lines" in info.value.message
    # A real digest is far below even the lowered limit.
    assert len(parse_digest((HEAD + _entry("T")).rstrip("\n"), "ok.txt").entries) == 1

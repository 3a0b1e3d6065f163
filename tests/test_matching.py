"""The matching rules: precision first, every hard case from the seeds and the issue."""

from __future__ import annotations

import datetime as dt

import pytest

from enrich.resolve.matching import (
    abstract_containment,
    decide_by_authors,
    decide_by_hint,
    decide_by_title,
    merge_not_found,
    shared_authors,
    title_similarity,
    titles_agree,
)
from enrich.resolve.model import ArxivPaper, EntryQuery

UTC = dt.UTC


def paper(arxiv_id: str, title: str, authors: list[str], *, published: str = "2024-08-07",
          abstract: str = "", version: int = 1) -> ArxivPaper:
    when = dt.datetime.fromisoformat(published).replace(tzinfo=UTC)
    return ArxivPaper(arxiv_id=arxiv_id, version=version, title=title, authors=tuple(authors),
                      abstract=abstract, published=when, updated=when)


CLIC_TITLE = "Contrastive Learning for Image Complexity Representation"
CLIC_AUTHORS = ("Shipeng Liu", "Liang Zhao", "Dengfeng Chen", "Zhanping Song")
CLIC = paper("2408.03230", CLIC_TITLE, list(CLIC_AUTHORS), published="2024-08-06")
# The real trap: a later, different paper by three of the four authors on the same method.
CLIC_LATER = paper("2411.12792", "CLIC: Contrastive Learning Framework for Unsupervised Image "
                   "Complexity Representation", ["Shipeng Liu", "Liang Zhao", "Dengfeng Chen"],
                   published="2024-11-19")
DIGEST_DAY = dt.date(2024, 8, 16)


def q(title: str, authors: tuple[str, ...] = ("Jane Doe",), **kw: object) -> EntryQuery:
    return EntryQuery(title=title, authors=authors, date=kw.pop("date", DIGEST_DAY),  # type: ignore[arg-type]
                      **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Is Attention All You Need?", "Is attention all you need", True),
        ("ComKD-CLIP: Comprehensive Knowledge Distillation for Contrastive Language-Image "
         "Pre-traning Model", "ComKD-CLIP: Comprehensive Knowledge Distillation for Contrastive "
         "Language-Image Pre-training Model", True),
        ("Self-supervised pretraining of $\\mathcal{X}$-nets",
         "Self-Supervised Pre-Training of X-Nets", True),
        ("Énergie: Über Modèles", "Energie: Uber Modeles", True),
        ("Energy-Based Contrastive Learning of Visual Representations",
         "Visual Representations of Energy-Based Contrastive Learning", True),
        (CLIC_TITLE, CLIC_TITLE + " and Beyond", False),
        (CLIC_TITLE + " and Beyond", CLIC_TITLE, False),
        (CLIC_TITLE, CLIC_LATER.title, False),
        ("Curriculum learning based pre-training using Multi-Modal Contrastive Masked "
         "Autoencoders", "A Two-Stage Progressive Pre-training using Multi-Modal Contrastive "
         "Masked Autoencoders", False),
        ("A Survey of Graph Neural Networks", "A Survey of Graph Neural Networks for Vision",
         False),
        ("", "Anything", False),
    ],
    ids=["question-mark", "arxiv-own-typo", "tex-and-hyphens", "accents", "word-order",
         "prefix-of-longer", "longer-than-arxiv", "near-miss-clic", "retitled", "extra-words",
         "empty"],
)
def test_titles_agree_only_when_no_word_is_left_unexplained(a: str, b: str, agree: bool) -> None:
    assert titles_agree(a, b) is agree


def test_title_similarity_is_symmetric_and_bounded() -> None:
    a, b = CLIC_TITLE, CLIC_LATER.title
    assert title_similarity(a, b) == title_similarity(b, a)
    assert 0.0 <= title_similarity(a, b) < 0.9
    assert title_similarity(a, a) == 1.0


@pytest.mark.parametrize(
    ("digest", "arxiv", "shared"),
    [
        (("Ryan A. Rossi", "Aditya Grover"), ("Ryan Rossi", "A. Grover"), 2),
        (("Martin Luther King, Jr.",), ("Martin L. King",), 1),
        (("José Álvarez",), ("Jose Alvarez",), 1),
        (("Ludwig van Beethoven",), ("L. van Beethoven",), 1),
        (("Tianhang Pan", "Zhuoran Zheng", "Xiuyi Jia"), ("Tianhang Pan", "Xiuyi Jia"), 2),
        (("Jane Doe",), ("John Smith",), 0),
        ((), ("John Smith",), 0),
    ],
    ids=["initials", "suffix", "accents", "particle", "author-dropped", "strangers", "none"],
)
def test_shared_authors_compares_folded_surnames(digest: tuple[str, ...],
                                                 arxiv: tuple[str, ...], shared: int) -> None:
    assert shared_authors(digest, arxiv) == shared


def test_exact_title_with_a_shared_author_is_matched() -> None:
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [CLIC, CLIC_LATER])
    assert verdict.status == "matched"
    assert verdict.paper is not None and verdict.paper.arxiv_id == "2408.03230"
    assert verdict.method == "title-batch"
    assert verdict.score is not None and verdict.score > 0.95


def test_the_later_paper_by_the_same_authors_is_never_chosen() -> None:
    # Even when it is the only candidate and its title were close, it did not exist yet.
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [CLIC_LATER])
    assert verdict.status == "not_found"
    assert verdict.paper is None
    [cand] = verdict.candidates
    assert cand.arxiv_id == "2411.12792"
    assert cand.rejected is not None and "after the digest" in cand.rejected


def test_a_paper_published_after_the_digest_is_rejected_even_with_the_exact_title() -> None:
    later_same_title = paper("2409.00001", CLIC_TITLE, list(CLIC_AUTHORS),
                             published="2024-09-02")
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [later_same_title])
    assert verdict.status == "not_found"


def test_the_next_utc_day_is_still_plausible_for_a_beijing_dated_digest() -> None:
    next_day = paper("2408.09999", CLIC_TITLE, list(CLIC_AUTHORS), published="2024-08-17")
    assert decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [next_day]).status == "matched"


def test_the_same_title_by_different_authors_is_another_paper() -> None:
    stranger = paper("2401.00001", CLIC_TITLE, ["Alice Wong", "Bob Marley"])
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [stranger])
    assert verdict.status == "not_found"
    assert verdict.candidates[0].rejected == "no author in common"


def test_the_same_title_by_different_authors_does_not_disturb_the_right_one() -> None:
    stranger = paper("2401.00001", CLIC_TITLE, ["Alice Wong", "Bob Marley"])
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [stranger, CLIC])
    assert verdict.status == "matched"
    assert verdict.paper is not None and verdict.paper.arxiv_id == "2408.03230"


def test_a_longer_title_that_starts_with_ours_is_not_our_paper() -> None:
    longer = paper("2402.00002", CLIC_TITLE + " and Beyond", list(CLIC_AUTHORS))
    assert decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [longer]).status == "not_found"
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [longer, CLIC])
    assert verdict.paper is not None and verdict.paper.arxiv_id == "2408.03230"


def test_two_passing_candidates_close_together_are_ambiguous() -> None:
    twin = paper("2408.03231", CLIC_TITLE, list(CLIC_AUTHORS))
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [CLIC, twin])
    assert verdict.status == "ambiguous"
    assert verdict.paper is None
    assert {c.arxiv_id for c in verdict.candidates} == {"2408.03230", "2408.03231"}


def test_a_clearly_better_candidate_beats_a_passing_runner_up() -> None:
    typo_by_one = paper("2408.03299", CLIC_TITLE.replace("Complexity", "Complexty"),
                        ["Shipeng Liu", "Someone Else", "Third Person", "Fourth Person"])
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [typo_by_one, CLIC])
    assert verdict.status == "matched"
    assert verdict.paper is not None and verdict.paper.arxiv_id == "2408.03230"


def test_without_authors_in_the_digest_a_title_alone_is_only_ambiguous() -> None:
    verdict = decide_by_title(q(CLIC_TITLE, ()), [CLIC])
    assert verdict.status == "ambiguous"
    assert verdict.paper is None


def test_no_candidates_is_not_found() -> None:
    verdict = decide_by_title(q("A paper that is not on arXiv"), [])
    assert verdict.status == "not_found"
    assert verdict.candidates == ()


def test_candidates_are_kept_best_first_and_bounded() -> None:
    many = [paper(f"2401.{i:05d}", f"{CLIC_TITLE} part {i}", ["Other Person"])
            for i in range(12)]
    verdict = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), many)
    assert len(verdict.candidates) == 5
    scores = [c.score for c in verdict.candidates]
    assert scores == sorted(scores, reverse=True)


RETITLED_V1 = ("Curriculum learning based pre-training using Multi-Modal Contrastive Masked "
               "Autoencoders")
RETITLED_ABSTRACT = (
    "In this paper, we propose a new pre-training method for image understanding tasks under "
    "Curriculum Learning (CL) paradigm which leverages RGB-D. The method utilizes Multi-Modal "
    "Contrastive Masked Autoencoder and Denoising techniques. Specifically, we show an "
    "improvement of +1.0% mIoU against Mask3D on ScanNet semantic segmentation."
)
RETITLED_NOW = paper(
    "2408.02245", "A Two-Stage Progressive Pre-training using Multi-Modal Contrastive Masked "
    "Autoencoders", ["Muhammad Abdullah Jamal", "Omid Mohareri"], published="2024-08-05",
    abstract=RETITLED_ABSTRACT.replace("+1.0%", "+1.3%").replace("Curriculum Learning (CL)",
                                                                  "a two-stage"),
    version=2,
)
JAMAL = ("Muhammad Abdullah Jamal", "Omid Mohareri")


def test_a_retitled_paper_is_found_by_authors_and_abstract() -> None:
    query = q(RETITLED_V1, JAMAL, abstract=RETITLED_ABSTRACT)
    assert abstract_containment(RETITLED_ABSTRACT, RETITLED_NOW.abstract) > 0.6
    assert decide_by_title(query, [RETITLED_NOW]).status == "not_found"
    verdict = decide_by_authors(query, [RETITLED_NOW])
    assert verdict.status == "matched"
    assert verdict.method == "author-window"
    assert verdict.paper is not None and verdict.paper.arxiv_id == "2408.02245"


def test_another_paper_by_the_same_authors_is_not_taken_for_it() -> None:
    query = q(RETITLED_V1, JAMAL, abstract=RETITLED_ABSTRACT)
    other = paper("2406.01234", "Surgical Video Understanding with Transformers", list(JAMAL),
                  abstract="We study surgical phase recognition in operating room videos.")
    verdict = decide_by_authors(query, [other])
    assert verdict.status == "not_found"


def test_author_window_needs_two_shared_authors_when_the_digest_has_two() -> None:
    query = q(RETITLED_V1, JAMAL, abstract=RETITLED_ABSTRACT)
    one_author = RETITLED_NOW.model_copy(update={"authors": ("Muhammad Abdullah Jamal",
                                                             "Somebody Else")})
    assert decide_by_authors(query, [one_author]).status == "not_found"


def test_an_id_hint_is_accepted_when_the_title_agrees() -> None:
    verdict = decide_by_hint(q(CLIC_TITLE, CLIC_AUTHORS, arxiv_id_hint="2408.03230"), CLIC)
    assert verdict is not None and verdict.status == "matched" and verdict.method == "id-hint"


def test_an_id_hint_is_accepted_for_a_paper_retitled_later() -> None:
    query = q(RETITLED_V1, JAMAL, abstract=RETITLED_ABSTRACT, arxiv_id_hint="2408.02245")
    verdict = decide_by_hint(query, RETITLED_NOW)
    assert verdict is not None and verdict.paper == RETITLED_NOW


def test_an_id_hint_pointing_at_a_stranger_is_refused() -> None:
    stranger = paper("2408.03231", "Quantum Gravity in Two Dimensions", ["Ed Witten"])
    assert decide_by_hint(q(CLIC_TITLE, CLIC_AUTHORS, arxiv_id_hint="2408.03231"),
                          stranger) is None


def test_an_id_hint_sharing_only_a_common_surname_is_refused() -> None:
    stranger = paper("2408.03231", "Quantum Gravity in Two Dimensions", ["Wei Liu"],
                     abstract="Nothing in common.")
    assert decide_by_hint(q(CLIC_TITLE, CLIC_AUTHORS), stranger) is None


def test_an_id_hint_to_a_neighbouring_paper_of_the_same_group_is_refused() -> None:
    # Found at 10,000 generated entries: the link names the group's other paper, whose title
    # extends the entry's and which shares one of its two authors, but not the first.
    title = "Zero-Shot Knowledge Distillation with Reinforcement Learning for Stereo Matching"
    query = q(title, ("Lei Zhang", "Hao He"), abstract="We study zero-shot distillation for "
              "stereo matching with a reinforcement learning teacher and cyclic consistency.",
              arxiv_id_hint="2308.01134")
    neighbour = paper("2308.01134", title + " with Frequency Decomposition",
                      ["Ahmed Yang", "Hao He"], published="2023-08-03",
                      abstract="Frequency bands are separated before matching, and each band "
                               "is distilled by its own student network on aerial images.")
    assert decide_by_hint(query, neighbour) is None
    # The same paper under its later, longer title, by the same first author, is accepted.
    retitled = neighbour.model_copy(update={"authors": ("Lei Zhang", "Ahmed Yang")})
    assert decide_by_hint(query, retitled) is not None


def test_an_id_hint_to_a_later_paper_is_refused() -> None:
    assert decide_by_hint(q(CLIC_TITLE, CLIC_AUTHORS), CLIC_LATER) is None


def test_misses_merge_into_one_not_found_with_the_best_candidates() -> None:
    a = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS), [CLIC_LATER])
    b = decide_by_title(q(CLIC_TITLE, CLIC_AUTHORS),
                        [paper("2401.00001", CLIC_TITLE, ["Alice Wong"])])
    merged = merge_not_found(a, b, a)
    assert merged.status == "not_found"
    assert [c.arxiv_id for c in merged.candidates] == sorted(
        [c.arxiv_id for c in merged.candidates],
        key=lambda i: -next(c.score for c in merged.candidates if c.arxiv_id == i))
    assert len({c.arxiv_id for c in merged.candidates}) == len(merged.candidates) == 2

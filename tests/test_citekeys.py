"""Citation keys: readable bases, and a registry that never renames a key it has issued."""

from __future__ import annotations

import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from enrich.render.citekeys import (
    ascii_word,
    key_base,
    keyed_papers,
    suffixes,
)
from enrich.render.model import Paper
from enrich.store.citekeys import KEY_NS, OWNER_NS, KeyRegistry
from enrich.store.db import StateStore
from tests.test_bibtex import corpus_papers, cyclip, paper, stress_papers

KEY = re.compile(r"^[a-z][a-z0-9]*$")


@pytest.mark.parametrize(("item", "base"), [
    (cyclip(), "goel2022cyclip"),
    (paper("2402.90106", "$k$-NN Contrastive Learning for $\\ell_1$-Robust Retrieval",
           ["Priya Nair"]), "nair2022nn"),
    (paper("2401.90001", "The Effect of Things", ["Jan van den Berg"]), "berg2022effect"),
    (paper("2401.90002", "On Über-Networks", ["Jürgen Müller"]), "muller2022uber"),
    (paper("2401.90003", "A Study", ["The ATLAS Collaboration"]), "atlas2022study"),
    (paper("2401.90004", "Обзор", ["Иван Петров"]), "petrov2022obzor"),
    (paper("2401.90005", "基于对比学习", ["张伟"]), "anon2022"),
    (paper("2401.90006", "Dated by Identifier", ["A Person"], published=None),
     "person2024dated"),
    (paper("hep-th/9901001", "Old Style", ["Edward Witten"], published=None),
     "witten1999old"),
    (paper("2401.90007", "Untitled", []), "anon2022untitled"),
], ids=["cyclip", "math-skipped", "particle", "accents-folded", "organisation",
        "cyrillic-transliterated", "cjk-has-no-ascii", "year-from-new-id", "year-from-old-id",
        "no-authors"])
def test_a_key_base_is_surname_year_and_first_significant_title_word(item: Paper,
                                                                     base: str) -> None:
    assert key_base(item) == base


def test_every_base_is_lower_case_ascii() -> None:
    for item in corpus_papers() + stress_papers():
        assert KEY.match(key_base(item)), (item.key, key_base(item))


def test_ascii_word_folds_and_transliterates() -> None:
    assert ascii_word("Łódź-Straße") == "lodzstrasse"
    assert ascii_word("Παπαδόπουλος") == "papadopoylos"


def test_suffixes_run_from_none_through_letters() -> None:
    first = [s for _, s in zip(range(29), suffixes(), strict=False)]
    assert first[:3] == ["", "a", "b"]
    assert first[26:29] == ["z", "aa", "ab"]


# --------------------------------------------------------------------------------------------
# The registry


def _twin(arxiv: str, published: str = "2022-06-01") -> Paper:
    """Another paper whose key base is CyCLIP's."""
    return paper(arxiv, "CyCLIP Revisited", ["Sarah Goel"], published=published)


def test_a_later_collision_gets_a_suffix_and_the_first_key_never_changes(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    assert KeyRegistry(state).assign([cyclip()]) == {"arxiv:2205.14459": "goel2022cyclip"}
    # The newcomer sorts before CyCLIP by every rule (earlier date, smaller ID): still it
    # gets the suffix, because CyCLIP's key was issued first.
    newcomer = _twin("2201.00001", published="2022-01-01")
    keys = KeyRegistry(state).assign([newcomer, cyclip()])
    assert keys == {"arxiv:2201.00001": "goel2022cyclipa", "arxiv:2205.14459": "goel2022cyclip"}


def test_keys_survive_a_new_process_and_a_changed_title(tmp_path: Path) -> None:
    KeyRegistry(StateStore(tmp_path)).assign([cyclip()])
    retitled = cyclip().model_copy(update={"title": "A Completely Different Title",
                                           "authors": ("Zed Zulu",)})
    assert KeyRegistry(StateStore(tmp_path)).assign([retitled]) == {
        "arxiv:2205.14459": "goel2022cyclip"}


def test_newcomers_in_one_run_are_keyed_independently_of_input_order(tmp_path: Path) -> None:
    papers = [cyclip(), _twin("2205.00002"), _twin("2205.00003", published="2022-05-29")]
    forward = KeyRegistry(StateStore(tmp_path / "a")).assign(papers)
    backward = KeyRegistry(StateStore(tmp_path / "b")).assign(list(reversed(papers)))
    assert forward == backward
    assert sorted(forward.values()) == ["goel2022cyclip", "goel2022cyclipa", "goel2022cyclipb"]


def test_the_registry_records_both_directions(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    KeyRegistry(state).assign([cyclip(), _twin("2205.00002")])
    assert dict(state.items(KEY_NS)) == {
        "arxiv:2205.00002": {"citekey": "goel2022cyclipa"},
        "arxiv:2205.14459": {"citekey": "goel2022cyclip"}}
    assert dict(state.items(OWNER_NS)) == {
        "goel2022cyclip": {"paper": "arxiv:2205.14459"},
        "goel2022cyclipa": {"paper": "arxiv:2205.00002"}}


def test_a_key_reserved_by_an_interrupted_run_goes_to_the_same_paper(tmp_path: Path) -> None:
    state = StateStore(tmp_path)
    # A run that claimed the key and died before recording it on the paper.
    state.put_if_absent(OWNER_NS, "goel2022cyclip", {"paper": "arxiv:2205.14459"})
    assert KeyRegistry(state).assign([_twin("2205.00002"), cyclip()]) == {
        "arxiv:2205.00002": "goel2022cyclipa", "arxiv:2205.14459": "goel2022cyclip"}


def _assign_in_process(state_dir: str, papers: list[Paper], start_at: float) -> dict[str, str]:
    time.sleep(max(0.0, start_at - time.time()))
    return KeyRegistry(StateStore(Path(state_dir))).assign(papers)


def test_two_processes_assigning_at_once_never_share_or_split_a_key(tmp_path: Path) -> None:
    # Twelve papers with one key base; each process gets an overlapping, shuffled half.
    papers = [_twin(f"2205.{10000 + i}", published=f"2022-06-{1 + i:02d}") for i in range(12)]
    first, second = papers[:8], list(reversed(papers[4:]))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        for attempt in range(3):
            state_dir = str(tmp_path / f"state{attempt}")
            StateStore(Path(state_dir)).close()
            start_at = time.time() + 1.0
            a = pool.submit(_assign_in_process, state_dir, first, start_at)
            b = pool.submit(_assign_in_process, state_dir, second, start_at)
            keys_a, keys_b = a.result(timeout=60), b.result(timeout=60)
            shared = set(keys_a) & set(keys_b)
            assert len(shared) == 4
            assert all(keys_a[k] == keys_b[k] for k in shared)  # one key per paper
            issued = {**keys_a, **keys_b}
            assert len(set(issued.values())) == len(issued) == 12  # one paper per key
            stored = dict(StateStore(Path(state_dir)).items(KEY_NS))
            assert {k: v["citekey"] for k, v in stored.items()} == issued


# --------------------------------------------------------------------------------------------
# What the renderers write


def test_renderers_use_registry_keys_and_make_up_unique_ones_for_papers_without() -> None:
    keyed = cyclip(citekey="goel2022cyclip")
    same_key = _twin("2205.00002").model_copy(update={"citekey": "goel2022cyclip"})
    unkeyed = _twin("2205.00003")
    out = keyed_papers([unkeyed, same_key, keyed])
    assert [k for k, _ in out] == ["goel2022cyclip", "goel2022cyclipa", "goel2022cyclipb"]
    # Two papers claiming one key is a pipeline bug; the file stays valid and deterministic.
    assert [p.arxiv_id for _, p in out] == ["2205.00002", "2205.14459", "2205.00003"]

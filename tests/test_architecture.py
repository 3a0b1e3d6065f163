"""The layering the architecture promises: `enrich/` is Prefect-free, pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted((ROOT / "enrich").glob("*.py"))
# Modules that take and return values: no network, clock, environment or filesystem.
PURE = {"matching", "arxiv_query", "textnorm", "identifiers", "links", "records", "bibtex",
        "latex", "names", "csl", "models"}
IMPURE_IMPORTS = {"httpx", "requests", "socket", "sqlite3", "os", "subprocess", "time",
                  "urllib.request", "prefect", "tenacity", "enrich.store.db", "enrich.net.http",
                  "enrich.resolve.arxiv_client", "enrich.repos.github_client", "enrich.store.files",
                  "enrich.pipeline", "enrich.resolve.resolver", "enrich.repos.facts", "enrich.net.gate"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=[p.stem for p in CORE])
def test_the_core_never_imports_prefect(path: Path) -> None:
    assert not any(m == "prefect" or m.startswith("prefect.") for m in imported_modules(path))


@pytest.mark.parametrize("path", [p for p in CORE if p.stem in PURE],
                         ids=[p.stem for p in CORE if p.stem in PURE])
def test_pure_modules_do_no_io(path: Path) -> None:
    bad = {m for m in imported_modules(path)
           if any(m == x or m.startswith(x + ".") for x in IMPURE_IMPORTS)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", CORE, ids=[p.stem for p in CORE])
def test_the_core_does_not_print(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert not calls, f"{path.name} prints; use logging.getLogger(__name__)"


def test_flows_stay_thin() -> None:
    # Orchestration only: no HTTP clients or SQL in flows/, the core does that.
    for path in sorted((ROOT / "flows").glob("*.py")):
        bad = {m for m in imported_modules(path) if m in {"httpx", "requests", "sqlite3",
                                                           "arxiv", "bibtexparser"}}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_every_core_module_says_what_it_is_for() -> None:
    missing = [p.name for p in CORE if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not missing


def test_tests_never_import_bench_and_fakes_never_import_the_code_under_test() -> None:
    # One direction: bench/ may import the suite's fakes and corpora, tests/ never bench/.
    # The fakes stand in front of enrich/; sharing its code would hide its bugs.
    tests = ROOT / "tests"
    bench_users: list[str] = []
    enrich_users: list[str] = []
    for path in sorted(tests.rglob("*.py")):
        modules: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
        name = str(path.relative_to(ROOT))
        if any(m == "bench" or m.startswith("bench.") for m in modules):
            bench_users.append(name)
        if path.is_relative_to(tests / "fakes") and any(
                m == "enrich" or m.startswith("enrich.") for m in modules):
            enrich_users.append(name)
    assert not bench_users, f"tests import bench: {bench_users}"
    assert not enrich_users, f"fakes import the code under test: {enrich_users}"

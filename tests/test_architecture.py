"""The layering the architecture promises: `enrich/` is Prefect-free, pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted(p for p in (ROOT / "enrich").rglob("*.py"))
CORE_IDS = [str(p.relative_to(ROOT / "enrich")) for p in CORE]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PACKAGES = sorted(p.name for p in (ROOT / "enrich").iterdir() if (p / "__init__.py").is_file())
# The layers of the core, lowest first: a module may import only modules of lower layers (and
# its own package's `__init__`). Reading the folders bottom-up is reading the pipeline.
LAYERS: list[tuple[str, ...]] = [
    ("enrich", *(f"enrich.{p}" for p in PACKAGES), "enrich.errors", "enrich.record",
     "enrich.settings", "enrich.progress"),
    ("enrich.text.*", "enrich.net.gate", "enrich.net.deadline", "enrich.*.model"),
    # names use normalise/latex; http uses the gate; the output records use every stage's
    ("enrich.text.names", "enrich.text.tex", "enrich.text.terms", "enrich.net.http",
     "enrich.render.model", "enrich.repos.links"),
    ("enrich.net.retry", "enrich.digest.parse", "enrich.resolve.query", "enrich.resolve.matching",
     "enrich.render.citekeys", "enrich.render.names", "enrich.render.schema", "enrich.store.db",
     "enrich.store.files", "enrich.store.lock"),
    # one polite JSON service (HF, S2, dblp); answers kept with their time
    ("enrich.net.service", "enrich.store.timed"),
    ("enrich.render.bibtex", "enrich.resolve.arxiv_client", "enrich.repos.github_client",
     "enrich.repos.hf_client", "enrich.published.s2_client", "enrich.published.dblp_client",
     "enrich.published.venues", "enrich.store.*"),
    ("enrich.render.csl", "enrich.render.papers", "enrich.resolve.resolver",
     "enrich.repos.facts"),
    ("enrich.pipeline",),
]
# Modules that take and return values: no network, clock, environment or filesystem.
PURE = ("enrich.text.*", "enrich.*.model", "enrich.record", "enrich.digest.parse",
        "enrich.resolve.query", "enrich.resolve.matching", "enrich.repos.links",
        "enrich.render.citekeys", "enrich.render.names", "enrich.render.papers",
        "enrich.render.bibtex", "enrich.render.csl", "enrich.published.venues")
IMPURE_IMPORTS = {"httpx", "requests", "socket", "sqlite3", "os", "subprocess", "time",
                  "urllib.request", "prefect", "tenacity", "enrich.net", "enrich.store",
                  "enrich.resolve.arxiv_client", "enrich.repos.github_client",
                  "enrich.pipeline", "enrich.resolve.resolver", "enrich.repos.facts",
                  "enrich.repos.hf_client", "enrich.published.s2_client",
                  "enrich.published.dblp_client"}


def _matches(name: str, pattern: str) -> bool:
    if "*" not in pattern:
        return name == pattern
    head, _, tail = pattern.partition("*")
    return name.startswith(head) and name.endswith(tail) and name != head.rstrip(".")


def layer_of(name: str) -> int:
    """The most specific layer pattern naming the module (an exact name beats a wildcard)."""
    exact = [i for i, layer in enumerate(LAYERS) if name in layer]
    if exact:
        return exact[0]
    found = [i for i, layer in enumerate(LAYERS) if any(_matches(name, p) for p in layer)]
    if not found:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS")
    return found[0]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE, ids=CORE_IDS)
def test_the_core_never_imports_prefect(path: Path) -> None:
    assert not any(m == "prefect" or m.startswith("prefect.") for m in imported_modules(path))


def _pure(path: Path) -> bool:
    return any(_matches(module_name(path), p) for p in PURE)


@pytest.mark.parametrize("path", CORE, ids=CORE_IDS)
def test_no_module_imports_upward(path: Path) -> None:
    name = module_name(path)
    mine = layer_of(name)
    upward = {m for m in imported_modules(path) if m.startswith("enrich.") or m == "enrich"
              if m != name and not name.startswith(m + ".") and layer_of(m) >= mine}
    assert not upward, f"{name} (layer {mine}) imports {sorted(upward)} from its layer or above"


@pytest.mark.parametrize("path", [p for p in CORE if _pure(p)],
                         ids=[i for p, i in zip(CORE, CORE_IDS, strict=True) if _pure(p)])
def test_pure_modules_do_no_io(path: Path) -> None:
    bad = {m for m in imported_modules(path)
           if any(m == x or m.startswith(x + ".") for x in IMPURE_IMPORTS)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", CORE, ids=CORE_IDS)
def test_the_core_does_not_print(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert not calls, f"{path.name} prints; use logging.getLogger(__name__)"


def test_flows_stay_thin() -> None:
    # Orchestration only: no HTTP clients or SQL in flows/, the core does that. The one
    # exception: the local Prefect server makes Prefect's own new database from its schema.
    for path in sorted((ROOT / "flows").glob("*.py")):
        allowed = {"sqlite3"} if path.name == "server_process.py" else set()
        bad = {m for m in imported_modules(path) if m in {"httpx", "requests", "sqlite3",
                                                           "arxiv", "bibtexparser"} - allowed}
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
        if "node_modules" in path.parts:  # the JavaScript consumers' installed packages
            continue
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

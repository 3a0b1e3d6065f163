"""Write the pipeline's complete outputs for fixed inputs, to compare two versions of the code.

    python -m bench.snapshot DIR [--sizes 100,1000] [--seed 0]
    diff -r BEFORE AFTER        # byte-identical outputs: no output at all

Cases, each against the loopback fakes in this process and a fresh output directory:

* `seeds/`: the repository's two seed digests, with the fakes' default corpora (the same
  services the end-to-end tests run against); `seeds-markdown/`: their markdown sources;
* `bench-<N>/`: the generated benchmark corpus of N entries (`--seed`), as
  `python -m bench.pipeline_bench` serves it (decoys, retitled papers, renamed, deleted and
  blocked repositories).

Only the rendered files are written (`references.bib`, `references.json`, `papers.jsonl`,
`report.json`, `digests/`); the state database is left out (it holds wall-clock times).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.pipeline_bench import _settings, services
from enrich import pipeline
from enrich.net.gate import reset_process_gates
from enrich.store.db import StateStore
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.github_api import FakeGitHub
from tests.support.corpus import generate
from tests.support.scoring import github_corpus, linked_repos

REPO = Path(__file__).resolve().parents[1]


def _run(paths: Sequence[Path], arxiv: FakeArxiv, github: FakeGitHub, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        output = Path(tmp) / "output"
        state = StateStore.for_output(output)
        reset_process_gates()
        settings = _settings(arxiv, github, 0.0)
        outcomes = [pipeline.parse_file(path) for path in paths]
        pipeline.remember(state, outcomes)
        digests = [o.digest for o in outcomes if o.digest is not None]
        pipeline.resolve(digests, settings=settings, state=state)
        pipeline.read_github(digests, settings=settings, state=state)
        pipeline.issue_citekeys(state)
        pipeline.render(output, state)
        state.close()
        shutil.rmtree(output / ".state")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(output, target)


def snapshot(directory: Path, sizes: Sequence[int], seed: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    seeds = sorted((REPO / "seeds").glob("*.txt"))
    markdown = sorted((REPO / "tests" / "fixtures" / "digests").glob("*.md"))
    with FakeArxiv() as arxiv, FakeGitHub() as github:
        _run(seeds, arxiv, github, directory / "seeds")
        _run(markdown, arxiv, github, directory / "seeds-markdown")
    for size in sizes:
        corpus = generate(size, seed=seed)
        repos = github_corpus(linked_repos(corpus))
        with tempfile.TemporaryDirectory(prefix="snapshot-digests-") as tmp, \
                services(corpus, repos) as (arxiv, github):
            paths = corpus.write(Path(tmp))
            _run(paths, arxiv, github, directory / f"bench-{size}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    snapshot(args.directory, sizes, args.seed)
    print(f"wrote {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

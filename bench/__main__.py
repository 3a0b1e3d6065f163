"""`python -m bench` (and `make bench`): the whole pipeline at three sizes against a naive baseline.

See `bench.pipeline_bench` for what is measured and how; `bench.arxiv_bench` and
`bench.github_bench` look closer at one service each.
"""

from bench.pipeline_bench import main

if __name__ == "__main__":
    raise SystemExit(main())

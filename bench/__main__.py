"""`python -m bench` (and `make bench`): what the README's benchmark tables say, in one run.

    python -m bench [--quick]

1. `bench.startup`: `digest-enrich run` beside a bare Prefect flow — first and warm runs,
   runs at once (idle and loaded machine), and warm runs at several corpus sizes;
2. `bench.scale`: the whole pipeline at 1,000 to 10,000 entries against the loopback fakes,
   our CPU per 1,000 entries by stage apart from the fakes', and the parser on 10 and 50 MB.

`--quick` runs each at its smallest (a few minutes). `bench.arxiv_bench`,
`bench.github_bench` and `bench.sources_bench` look closer at one service each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import scale, startup


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="startup --quick, and scale at 1,000 and 2,000 entries")
    args = parser.parse_args(argv)
    print("## Start-up and overhead (bench.startup)\n", flush=True)
    failed = startup.main(["--quick"] if args.quick else [])
    print("\n## Whole pipeline at scale (bench.scale)\n", flush=True)
    failed |= scale.main(["--sizes", "1000,2000", "--parse-mb", "10"] if args.quick else [])
    if failed:
        print("a benchmark failed its own checks (above)", file=sys.stderr)
    return failed


if __name__ == "__main__":
    raise SystemExit(main())

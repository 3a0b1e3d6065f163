"""The digest parser on large digests: MB/s and memory, streaming vs the whole file at once.

    python -m bench.parse_bench [--mb 10,50] [--seed 0] [--json PATH]

Two shapes of digest, each at every size:

* `typical`: the generated corpus's entries (`tests.support.corpus`: about 900 bytes each —
  title, authors, a 700-character abstract, a comment, code links in some), its digests'
  bodies one after another under their date lines, titles numbered on each repetition so that
  no paper is listed twice;
* `long`: entries with 15 kB abstracts (near the 20 kB an entry may hold), the shape of the
  hostile-digest suite's memory test: few objects per byte.

Each digest is parsed in a fresh subprocess per variant, so the peak RSS is that variant's:

* `streaming`: `read_digest(path)`, as the pipeline reads a digest;
* `whole file`: the bytes read and decoded whole, then parsed
  (`parse_digest(decode_digest(path.read_bytes()))`): what holding the file costs.

Figures: MB/s (best of two runs, wall and CPU), the process's peak RSS after the first (the
interpreter and its imports are about 32 MB of it), then one run under tracemalloc: the traced
peak while parsing, what the returned digest holds, and their difference — the working memory
beyond the result.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from enrich.digest.model import Digest
from enrich.digest.parse import decode_digest, parse_digest, read_digest
from tests.support.corpus import FOOTER, generate

SHAPES = ("typical", "long")
VARIANTS = ("streaming", "whole file")
RESULTS = Path(__file__).resolve().parent / "results"
_TITLE = re.compile(r"(?m)^(.+)(?=\n\nAuthors:)")


def typical_digest(size: int, seed: int = 0) -> str:
    """About `size` bytes of the generated corpus's entries in one digest."""
    corpus = generate(2000, seed=seed)
    first = corpus.digests[0][1]
    head = first[: first.index("\n\n\n") + 3]
    bodies = [text[text.index("\n\n\n") + 3: -len(FOOTER)] for _, text in corpus.digests]
    parts, total, n = [head], len(head.encode()), 0
    while total < size:
        body = bodies[n % len(bodies)]
        rounds = n // len(bodies)
        if rounds:
            body = _TITLE.sub(rf"\g<1> ({rounds})", body)
        parts.append(body)
        total += len(body.encode())
        n += 1
    parts.append(FOOTER)
    return "".join(parts)


def long_digest(size: int) -> str:
    """About `size` bytes of entries with 15 kB abstracts."""
    abstract = " ".join(["Contrastive learning of visual representations at scale."] * 250)
    head = "无监督/半监督/对比学习\n\n\n2024-01-02 更新\n\n"
    parts, total, n = [head], 0, 0
    while total < size:
        entry = (f"A Long Paper Number {n}\n\nAuthors:Ann Lee, Bo Chen\n\n{abstract}\n"
                 f"PDF 12 pages\n\n点此查看论文截图\n\n")
        parts.append(entry)
        total += len(entry.encode())
        n += 1
    return "".join(parts) + FOOTER


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    Linux's VmHWM belongs to the process image: `ru_maxrss` would also count the parent it was
    forked from, which a benchmark's subprocess must not.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        return next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse(path: Path, variant: str) -> Digest:
    if variant == "streaming":
        return read_digest(path)
    return parse_digest(decode_digest(path.read_bytes(), path.name), path.name)


def measure_one(path: Path, variant: str) -> dict[str, Any]:
    """One digest, one variant, in this process."""
    size = path.stat().st_size
    wall = cpu = float("inf")
    entries = 0
    rss = 0.0
    for _ in range(2):
        began, began_cpu = time.perf_counter(), time.process_time()
        entries = len(_parse(path, variant).entries)
        wall = min(wall, time.perf_counter() - began)
        cpu = min(cpu, time.process_time() - began_cpu)
        # The first parse's peak is the process's: a second one may land in freed memory the
        # allocator kept, or not, which says nothing about the parser.
        rss = rss or peak_rss_mb()
    tracemalloc.start()
    try:
        digest = _parse(path, variant)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del digest
    return {"bytes": size, "entries": entries, "wall_s": wall, "cpu_s": cpu,
            "mb_per_s": size / 1e6 / wall, "cpu_mb_per_s": size / 1e6 / cpu,
            "peak_rss_mb": rss, "traced_peak_mb": peak / 2**20, "result_mb": held / 2**20,
            "working_mb": (peak - held) / 2**20}


def run(megabytes: Sequence[int], *, seed: int = 0) -> list[dict[str, Any]]:
    """Every shape at every size, each variant in a fresh subprocess."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        for shape in SHAPES:
            for mb in megabytes:
                path = Path(tmp) / f"{shape}-{mb}mb.txt"
                text = typical_digest(mb * 10**6, seed) if shape == "typical" \
                    else long_digest(mb * 10**6)
                path.write_text(text, encoding="utf-8")
                del text
                row: dict[str, Any] = {"shape": shape, "megabytes": mb}
                for variant in VARIANTS:
                    done = subprocess.run(
                        [sys.executable, "-m", "bench.parse_bench", "--one", str(path),
                         "--variant", variant], capture_output=True, text=True, check=True)
                    row[variant] = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  parsed {shape} {mb} MB", file=sys.stderr, flush=True)
                rows.append(row)
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| digest | entries | MB/s streaming (CPU) | MB/s whole file | peak RSS streaming "
             "· whole file | working memory beyond the result, streaming · whole file |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        s, w = row["streaming"], row["whole file"]
        lines.append(
            f"| {row['shape']}, {s['bytes'] / 1e6:.0f} MB | {s['entries']:,} "
            f"| {s['mb_per_s']:.1f} ({s['cpu_mb_per_s']:.1f}) | {w['mb_per_s']:.1f} "
            f"| {s['peak_rss_mb']:.0f} MB · {w['peak_rss_mb']:.0f} MB "
            f"| {s['working_mb']:.1f} MB · {w['working_mb']:.1f} MB |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_bench",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", default="10,50", help="digest sizes in MB (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS / "parse.json")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one, args.variant or "streaming")))
        return 0
    rows = run([int(mb) for mb in args.mb.split(",") if mb.strip()], seed=args.seed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Tabulates bench/paper_grid/run_grid.sh (Python standard library only).

    python3 bench/paper_grid/report.py OUT [--seconds N]

Reads OUT/compare/f<fraction>-s<seed>.json (written by `ecgdist compare`, baseline fine-tune) and
prints Markdown:
  1. test macro AUROC and AUPRC per variant x train fraction: mean +- sd over seeds;
  2. paired bootstrap differences to fine-tune on the same test records: the mean difference over
     seeds and, per seed, the difference with its 95 % CI (marked * when the CI excludes 0).
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

VARIANTS = ["fine-tune", "post-train", "w/o LP", "w/o SD"]


def mean_sd(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seconds", type=int, default=0)
    args = ap.parse_args()
    cells = {}  # (fraction, seed) -> comparison
    for path in sorted(glob.glob(os.path.join(args.out, "compare", "f*-s*.json"))):
        m = re.search(r"f([0-9.]+)-s([0-9]+)\.json$", path)
        if not m:
            continue
        with open(path) as f:
            cells[(float(m.group(1)), int(m.group(2)))] = json.load(f)
    if not cells:
        print(f"report.py: no compare/*.json under {args.out}", file=sys.stderr)
        return 2
    fractions = sorted({f for f, _ in cells})
    seeds = sorted({s for _, s in cells})
    any_cell = next(iter(cells.values()))

    def runs(fraction):
        for seed in seeds:
            c = cells.get((fraction, seed))
            if c:
                yield seed, {r["label"]: r for r in c["runs"]}

    print(f"# Paper grid at CPU scale (synthetic data)\n")
    print(f"Task {any_cell['task']}, {any_cell['records']} test records, seeds {seeds}, "
          f"train fractions {fractions}." + (f" Wall time {args.seconds / 60:.1f} min." if args.seconds else ""))
    for metric, title in (("macro_auroc", "macro AUROC"), ("macro_auprc", "macro AUPRC")):
        print(f"\n## Test {title}, mean ± sd over seeds\n")
        print("| train fraction | " + " | ".join(VARIANTS) + " |")
        print("|---|" + "---|" * len(VARIANTS))
        for f in fractions:
            row = []
            for v in VARIANTS:
                row.append(mean_sd([r[v][metric] for _, r in runs(f) if v in r]))
            print(f"| {f:g} | " + " | ".join(row) + " |")

    for key, title in (("auroc_difference", "AUROC"), ("auprc_difference", "AUPRC")):
        print(f"\n## Paired bootstrap difference in macro {title} to fine-tune (same test records)\n")
        print("Mean over seeds, then each seed's difference [95 % CI]; * = CI excludes 0.\n")
        print("| train fraction | " + " | ".join(VARIANTS[1:]) + " |")
        print("|---|" + "---|" * (len(VARIANTS) - 1))
        for f in fractions:
            row = []
            for v in VARIANTS[1:]:
                diffs, parts = [], []
                for seed, r in runs(f):
                    if v not in r or "vs_baseline" not in r[v]:
                        continue
                    d = r[v]["vs_baseline"][key]
                    est, ci = d["estimate"], d["ci"]
                    if est is None:
                        continue
                    diffs.append(est)
                    if ci is None:  # --bootstrap 0: no interval
                        parts.append(f"{est:+.3f} [CI n/a]")
                        continue
                    star = "*" if ci[0] is not None and (ci[0] > 0 or ci[1] < 0) else ""
                    parts.append(f"{est:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]{star}")
                mean = f"**{statistics.mean(diffs):+.3f}**" if diffs else "n/a"
                row.append(mean + "<br>" + "<br>".join(parts))
            print(f"| {f:g} | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

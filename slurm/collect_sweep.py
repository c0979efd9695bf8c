#!/usr/bin/env python3
"""Tabulates a sweep run by slurm/ecgdist-sweep.sbatch (Python standard library only).

    python3 slurm/collect_sweep.py SWEEP_ROOT [--csv OUT.csv] [--metric macro_auroc]

Finds every cell folder (one with sweep_cell.json, written by the sweep script) under SWEEP_ROOT,
reads its results.json when the cell has finished, and

  * writes one CSV row per cell (default SWEEP_ROOT/sweep_results.csv, written to a temp name and
    renamed so that a half-written table is never seen): settings, status, test and validation
    macro AUROC/AUPRC with their bootstrap CIs when results.json has them;
  * prints a Markdown table of one metric: rows task x train fraction, columns variants.

A cell without results.json is "incomplete" (checkpoints present: running or preempted) or
"pending". Exit status 0 even with unfinished cells (the table says which); 2 on usage errors.
"""

import argparse
import csv
import json
import os
import sys

VARIANT_ORDER = ["post-train", "fine-tune", "linear-probe", "wo-lp", "wo-sd"]


def metric(section, name):
    """(value, ci_low, ci_high) of results[section][name]; accepts a plain number (with an
    optional sibling name_ci: [low, high]) or an object with value/point/estimate and
    ci_low/ci_high or ci: [low, high]."""
    if not isinstance(section, dict) or name not in section:
        return (None, None, None)
    m = section[name]
    if isinstance(m, (int, float)):
        # ecgdist's layout: "macro_auroc": 0.91, "macro_auroc_ci": [0.89, 0.93]
        ci = section.get(name + "_ci")
        if isinstance(ci, list) and len(ci) == 2:
            return (float(m), ci[0], ci[1])
        return (float(m), None, None)
    if not isinstance(m, dict):
        return (None, None, None)
    value = next((m[k] for k in ("value", "point", "estimate", "mean") if k in m), None)
    low, high = m.get("ci_low"), m.get("ci_high")
    ci = m.get("ci") or m.get("ci95")
    if isinstance(ci, list) and len(ci) == 2:
        low, high = ci
    elif isinstance(ci, dict):
        low, high = ci.get("low", low), ci.get("high", high)
    return (value, low, high)


def load_cells(root):
    cells = []
    for dirpath, _, files in os.walk(root):
        if "sweep_cell.json" not in files:
            continue
        with open(os.path.join(dirpath, "sweep_cell.json")) as f:
            cell = json.load(f)
        cell["dir"] = os.path.relpath(dirpath, root)
        results_path = os.path.join(dirpath, "results.json")
        if os.path.exists(results_path):
            with open(results_path) as f:
                cell["results"] = json.load(f)
            cell["status"] = "done"
        elif os.path.isdir(os.path.join(dirpath, "checkpoints")) and os.listdir(
                os.path.join(dirpath, "checkpoints")):
            cell["status"] = "incomplete"
        else:
            cell["status"] = "pending"
        cells.append(cell)
    cells.sort(key=lambda c: c.get("index", 0))
    return cells


def fmt(v):
    return "" if v is None else f"{v:.4f}"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", help="SWEEP_ROOT of ecgdist-sweep.sbatch")
    ap.add_argument("--csv", help="output CSV [ROOT/sweep_results.csv]")
    ap.add_argument("--metric", default="macro_auroc",
                    help="test metric of the printed table [macro_auroc]")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.root):
        print(f"collect_sweep: {args.root} is not a directory", file=sys.stderr)
        return 2
    cells = load_cells(args.root)
    if not cells:
        print(f"collect_sweep: no sweep_cell.json under {args.root}", file=sys.stderr)
        return 2

    columns = ["index", "task", "train_fraction", "variant", "recipe", "flags", "status", "dir"]
    metric_columns = []
    for split in ("test", "val"):
        for name in ("macro_auroc", "macro_auprc"):
            metric_columns += [f"{split}_{name}", f"{split}_{name}_ci_low",
                               f"{split}_{name}_ci_high"]
    rows = []
    for c in cells:
        row = {k: c.get(k, "") for k in columns}
        results = dict(c.get("results", {}))
        if "val" not in results and "best_val_macro_auroc" in results:
            # ecgdist reports the validation AUROC of the selected (best) epoch at top level.
            results["val"] = {"macro_auroc": results["best_val_macro_auroc"]}
        for split in ("test", "val"):
            for name in ("macro_auroc", "macro_auprc"):
                v, lo, hi = metric(results.get(split), name)
                row[f"{split}_{name}"] = fmt(v)
                row[f"{split}_{name}_ci_low"] = fmt(lo)
                row[f"{split}_{name}_ci_high"] = fmt(hi)
        rows.append(row)

    out = args.csv or os.path.join(args.root, "sweep_results.csv")
    tmp = out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns + metric_columns)
        w.writeheader()
        w.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)

    # Markdown pivot: task x fraction rows, variant columns.
    variants = [v for v in VARIANT_ORDER if any(c.get("variant") == v for c in cells)]
    variants += sorted({c.get("variant") for c in cells} - set(variants))
    keys = []
    for c in cells:
        k = (c.get("task"), c.get("train_fraction"))
        if k not in keys:
            keys.append(k)
    by_key = {(c.get("task"), c.get("train_fraction"), c.get("variant")): c for c in cells}
    print(f"test {args.metric} (95% CI)  —  {sum(c['status'] == 'done' for c in cells)}"
          f"/{len(cells)} cells done")
    print("| task | fraction | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    for task, fraction in keys:
        cols = []
        for v in variants:
            c = by_key.get((task, fraction, v))
            if c is None:
                cols.append("")
            elif c["status"] != "done":
                cols.append(c["status"])
            else:
                val, lo, hi = metric(c["results"].get("test"), args.metric)
                text = fmt(val) or "?"
                if lo is not None and hi is not None:
                    text += f" [{lo:.3f}, {hi:.3f}]"
                cols.append(text)
        print(f"| {task} | {fraction} | " + " | ".join(cols) + " |")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

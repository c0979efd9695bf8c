"""Independent numpy reference for `ecgdist report`'s paired differences (table.csv d_* columns).

Computes, from the runs' test_predictions.csv and the HDF5 file's labels (h5py), the seed-mean
paired difference of test macro AUROC / AUPRC of runs A against runs B (paired by position: A[s]
and B[s] share a seed) and a percentile bootstrap CI pooled over seeds: each resample draws the
test records once (with replacement), scores every seed's pair on those records, and the
statistic is the mean over seeds of macro(A[s]) - macro(B[s]).

Definitions, written from their published form rather than from eval/metrics.cpp:
  - AUROC: Mann-Whitney U with average ranks of tied scores (sklearn roc_auc_score).
  - AUPRC: average precision, sum over distinct thresholds of (R_k - R_{k-1}) * P_k
    (sklearn average_precision_score).
  - Macro: mean over the labels that have a positive and a negative among the full test records.
  - A resample in which such a label has no positive or no negative is drawn again (the
    PTB-XL benchmark's rule, which eval::BootstrapOptions documents), so every resample's macro
    averages the same labels.
Scores are read as float32, as the C++ reader does.

Usage: paired_oracle.py H5 TASK RESAMPLES RNG_SEED --a RUN... --b RUN...
Prints JSON {"records", "evaluable", "d_auroc", "d_auroc_ci": [lo, hi], "d_auprc", "d_auprc_ci"}.
"""
import csv
import json
import sys

import h5py
import numpy as np
from scipy.stats import rankdata


def read_predictions(run):
    with open(run + "/test_predictions.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    ids = np.array([int(r[0]) for r in body], dtype=np.int64)
    scores = np.array([[float(x) for x in r[1:]] for r in body], dtype=np.float32)
    return header[1:], ids, scores


def auroc(s, y):
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    ranks = rankdata(s)  # average ranks for ties
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def average_precision(s, y):
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.where(np.diff(s))[0], len(s) - 1]  # last index of each tie group
    tp = np.cumsum(y)[distinct]
    fp = (distinct + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def macro(scores, targets, labels, metric):
    return float(np.mean([metric(scores[:, j], targets[:, j]) for j in labels]))


def main():
    args = sys.argv[1:]
    h5_path, task, resamples, rng_seed = args[0], args[1], int(args[2]), int(args[3])
    a_runs = args[args.index("--a") + 1:args.index("--b")]
    b_runs = args[args.index("--b") + 1:]
    assert len(a_runs) == len(b_runs) > 0

    with h5py.File(h5_path, "r") as f:
        file_ids = f["ecg_id"][:]
        labels = f["labels/" + task][:]
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in f["labels/" + task].attrs["classes"]]
    row_of = {int(e): i for i, e in enumerate(file_ids)}

    models_a, models_b, ids0 = [], [], None
    for runs, out in ((a_runs, models_a), (b_runs, models_b)):
        for run in runs:
            names, ids, scores = read_predictions(run)
            assert names == classes, (run, names, classes)
            if ids0 is None:
                ids0 = ids
            assert np.array_equal(ids, ids0), run
            out.append(scores)
    targets = np.array([labels[row_of[int(e)]] for e in ids0], dtype=np.int64)
    n = len(ids0)
    evaluable = [j for j in range(targets.shape[1]) if 0 < targets[:, j].sum() < n]

    def seed_mean_difference(idx, metric):
        t = targets[idx]
        return float(np.mean([macro(a[idx], t, evaluable, metric) - macro(b[idx], t, evaluable, metric)
                              for a, b in zip(models_a, models_b)]))

    full = np.arange(n)
    out = {"records": n, "evaluable": len(evaluable),
           "d_auroc": seed_mean_difference(full, auroc), "d_auprc": seed_mean_difference(full, average_precision)}
    rng = np.random.default_rng(rng_seed)
    d_auroc, d_auprc = [], []
    while len(d_auroc) < resamples:
        idx = rng.integers(0, n, size=n)
        t = targets[idx]
        if any(t[:, j].sum() in (0, n) for j in evaluable):
            continue  # the redraw rule
        d_auroc.append(seed_mean_difference(idx, auroc))
        d_auprc.append(seed_mean_difference(idx, average_precision))
    out["d_auroc_ci"] = [float(np.percentile(d_auroc, 2.5)), float(np.percentile(d_auroc, 97.5))]
    out["d_auprc_ci"] = [float(np.percentile(d_auprc, 2.5)), float(np.percentile(d_auprc, 97.5))]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

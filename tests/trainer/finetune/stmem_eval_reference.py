"""ST-MEM's own evaluation of a torch.save model, as the oracle for `evaluate/predict --profile st-mem`.

The model is the published ST_MEM_ViT (tests/model/st_mem_reference.py, an operation-for-operation
port); each test record of a raw 250 Hz file (neither band-passed nor normalised, as ST-MEM reads
PTB-XL) is cut into K equally spaced 2,250-sample crops, each high-/low-pass filtered and
standardised with scipy as ST-MEM's transforms define it (tests/data/stmem_oracle.py), and the
probabilities are the mean of the crops' sigmoids. Nothing here uses ecgdist.

  stmem_eval_reference.py save OUT.pth CLASSES         random (non-default) tiny ViT with a head, saved
                                                       as ST-MEM saves a fine-tuned model
  stmem_eval_reference.py score PTH H5 CSV K           compare CSV (ecg_id,p...) with the reference on
                                                       the CSV's records; prints "records N max_abs_diff D"
"""
import csv
import os
import sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "model"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "data"))
from st_mem_reference import st_mem_vit  # noqa: E402
import stmem_oracle  # noqa: E402

CROP = 2250


def save(path, classes):
    torch.manual_seed(0)
    model = st_mem_vit("tiny", num_classes=classes).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    torch.save({"model": model.state_dict(), "epoch": 9}, path)


def reference_probabilities(model, signal, crops):
    high, low = stmem_oracle.filters()
    windows = []
    for start in stmem_oracle.crop_starts(signal.shape[1], CROP, crops):
        w = signal[:, start:start + CROP]
        w = stmem_oracle.sosfiltfilt(low, stmem_oracle.sosfiltfilt(high, w, axis=-1), axis=-1)
        windows.append(stmem_oracle.standardize(w).astype(np.float32))
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(np.stack(windows)))).mean(0).numpy()


def score(pth, h5, table, crops):
    torch.set_num_threads(1)
    state = torch.load(pth)["model"]
    model = st_mem_vit("tiny", num_classes=state["head.weight"].shape[0]).eval()
    model.load_state_dict(state)
    rows = list(csv.reader(open(table)))[1:]
    with h5py.File(h5, "r") as f:
        index = {int(e): i for i, e in enumerate(f["ecg_id"][:])}
        worst = 0.0
        for row in rows:
            expected = reference_probabilities(model, f["signals"][index[int(row[0])]], crops)
            got = np.array([float(v) for v in row[1:1 + len(expected)]])
            worst = max(worst, float(np.abs(expected - got).max()))
    print(f"records {len(rows)} max_abs_diff {worst:.3g}")


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]}")

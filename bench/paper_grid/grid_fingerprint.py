"""What a grid's cells were trained from, as one hash: the encoder's tensors (names, dtypes,
shapes, values; a torch.save {'model': state dict}) and the labelled file's signals, labels, folds
and ids. File bytes would not do: HDF5 and zip files carry times.
  grid_fingerprint.py ENCODER.pth LABELLED.h5   -> prints the sha256
"""
import hashlib
import sys

import h5py
import numpy as np
import torch

encoder_path, labelled_path = sys.argv[1:3]
h = hashlib.sha256()
state = torch.load(encoder_path, map_location='cpu')
state = state.get('model', state)
for name in sorted(state):
    t = state[name].contiguous()
    h.update(f'{name} {t.dtype} {tuple(t.shape)}'.encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes())
with h5py.File(labelled_path, 'r') as f:
    names = []
    f.visit(lambda n: names.append(n) if isinstance(f[n], h5py.Dataset) else None)
    for name in sorted(names):
        d = np.ascontiguousarray(f[name][()])
        h.update(f'{name} {d.dtype} {d.shape}'.encode())
        h.update(d.tobytes())
print(h.hexdigest())

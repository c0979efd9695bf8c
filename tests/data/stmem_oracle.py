"""Reference values for data/signal/butterworth.h and data/signal/stmem_input.h, computed with scipy.

ST-MEM's downstream input (configs/downstream/st_mem.yaml) is defined by scipy calls:
butter(5, cutoff, btype, fs=250, output='sos') + sosfiltfilt with its defaults, and a mean/std
standardisation over leads and time jointly. This script evaluates those published definitions
directly so that the C++ implementation can be compared with them; it does not use ST-MEM's code.

Usage (raw little-endian arrays, row-major [leads, samples]):
  stmem_oracle.py design FS ORDER HP_HZ LP_HZ [...]    -> JSON [{"highpass": sos, "lowpass": sos}, ...]
  stmem_oracle.py filtfilt IN_F64 OUT_F64 LEADS N      -> high-pass then low-pass, float64
  stmem_oracle.py eval IN_F32 OUT_F32 LEADS N CROP K   -> K equally spaced crops, float32
"""
import json
import sys

import numpy as np
from scipy.signal import butter, sosfiltfilt

FS = 250.0
ORDER = 5
HIGHPASS_HZ = 0.67
LOWPASS_HZ = 40.0


def filters(fs=FS, order=ORDER, hp=HIGHPASS_HZ, lp=LOWPASS_HZ):
    return (butter(order, hp, btype="highpass", fs=fs, output="sos"),
            butter(order, lp, btype="lowpass", fs=fs, output="sos"))


def standardize(x):
    # One mean and one population std over every lead and sample; a constant crop -> zeros.
    mean = x.mean()
    sd = x.std()
    if sd == 0:
        return np.zeros_like(x)
    return (x - mean) / sd


def crop_starts(n, crop, k):
    # k windows from the first to the last possible start, spaced by (n - crop) // (k - 1).
    return list(range(0, n - crop + 1, (n - crop) // (k - 1)))


def main(argv):
    mode = argv[1]
    if mode == "design":
        out = []
        for i in range(2, len(argv), 4):
            fs, order, hp, lp = float(argv[i]), int(argv[i + 1]), float(argv[i + 2]), float(argv[i + 3])
            h, l = filters(fs, order, hp, lp)
            out.append({"highpass": h.tolist(), "lowpass": l.tolist()})
        print(json.dumps(out))
    elif mode == "filtfilt":
        leads, n = int(argv[4]), int(argv[5])
        x = np.fromfile(argv[2], dtype="<f8").reshape(leads, n)
        h, l = filters()
        y = sosfiltfilt(l, sosfiltfilt(h, x, axis=-1), axis=-1)
        y.astype("<f8").tofile(argv[3])
    elif mode == "eval":
        leads, n, crop, k = (int(a) for a in argv[4:8])
        x = np.fromfile(argv[2], dtype="<f4").reshape(leads, n)
        h, l = filters()
        out = []
        for s in crop_starts(n, crop, k):
            # Filtered as float32 input, as the records are stored: numpy forms the padding in
            # float32 and scipy filters in float64.
            c = x[:, s:s + crop]
            c = sosfiltfilt(l, sosfiltfilt(h, c, axis=-1), axis=-1)
            out.append(standardize(c).astype(np.float32))
        np.stack(out).astype("<f4").tofile(argv[3])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv)

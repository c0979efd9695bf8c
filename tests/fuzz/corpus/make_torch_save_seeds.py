#!/usr/bin/python3
"""Regenerates the seed corpus of tests/fuzz/torch_save_fuzz.cpp: small, valid torch.save files
covering what the reader supports (OrderedDict state dicts, nested dicts like ST-MEM's
encoder.pth, parameters, views with offsets and strides, shared storages, every storage type,
scalars, strings, lists, None, booleans, floats). Each file stays far below 20 KB so that the
fuzzer mutates structure rather than tensor bytes.

Run with Debian's Python (it has torch):  /usr/bin/python3 tests/fuzz/corpus/make_torch_save_seeds.py
"""
import collections
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_save")


def save(name, obj):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    size = os.path.getsize(path)
    assert size < 20 * 1024, (name, size)
    print(f"{name}: {size} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    sd = collections.OrderedDict()
    sd["patch_embed.weight"] = torch.randn(8, 4)
    sd["patch_embed.bias"] = torch.zeros(8)
    sd["norm.weight"] = torch.ones(8)
    sd["head.weight"] = torch.randn(2, 8)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])  # as Module.state_dict() sets
    save("state_dict.pt", sd)
    save("encoder.pth", {"model": sd, "epoch": 7, "lr": 1e-3, "tag": "st_mem", "flags": [True, None]})
    save("ddp_state_dict.pt", {"state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items())})
    base = torch.arange(24, dtype=torch.float64)
    save("views.pt", {"t": base.view(4, 6).t(), "slice": base[5:11], "shared": base, "expanded": torch.ones(1).expand(3)})
    save("dtypes.pt", {str(dt): torch.arange(3).to(dt) for dt in (
        torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
        torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64)})
    save("parameter.pt", {"p": torch.nn.Parameter(torch.randn(3, 2)), "empty": torch.empty(0, 5), "scalar": torch.tensor(2.5)})
    save("plain_values.pt", {"ints": [0, 1, -1, 255, 65535, 2**31, -2**40, 2**62], "s": "x" * 40,
                             "nested": {"a": (1, 2, (3,)), "b": [[], {}]}, "f": -0.5, "n": None})


if __name__ == "__main__":
    main()

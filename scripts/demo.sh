#!/usr/bin/env bash
# The main job on the embedded default: synthetic PTB-XL -> preprocess -> inspect
# (later: 2-rank post-training and test metrics). Everything lands in ${OUT:-out/demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-out/demo}
BIN=build/launcher/ecgdist
mkdir -p "$OUT"
$BIN synth --out "$OUT/ptbxl" --records "${RECORDS:-2000}" --sampling-rate 500 --seed 7
$BIN preprocess --ptbxl "$OUT/ptbxl" --out "$OUT/ptbxl.h5" --sampling-rate 500
$BIN inspect "$OUT/ptbxl.h5"

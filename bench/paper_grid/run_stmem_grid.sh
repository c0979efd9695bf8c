#!/usr/bin/env bash
# The paper's claims at a scale this CPU can answer (issue #25), with ST-MEM's own input pipeline
# and schedule (`--profile st-mem`): superdiagnostic x fine-tune / post-train x 10 / 30 / 100 % x
# seeds 0-2 (stmem-grid.json) plus the ablations w/o SD and w/o LP at 100 % x seeds 0-2
# (stmem-ablations.json), each cell bf16, at most 20 epochs with early stopping (patience 3).
#   1. a labelled synthetic cohort at 500 Hz (RECORDS, default 800), stored as ST-MEM reads
#      PTB-XL: resampled to 250 Hz, neither band-passed nor normalised;
#   2. unless ENCODER is given, a tiny ST-MEM encoder pretrained (2 ranks) on PRETRAIN_RECORDS
#      (default 2400) other records, preprocessed as usual (250 Hz, band-passed, z-scored), and
#      handed to the grid as a torch.save encoder.pth, as ST-MEM releases its own (see below);
#   3. both sweeps, cells two at a time (re-running resumes), then one report over both.
# The grid takes more than one session of the 2-core VM, and every session starts on a fresh
# machine: RUNS_FROM=DIR restores the cells an earlier session finished and saved
# (bench/paper_grid/grid_runs.sh; docs/paper-grid/<date>/runs) before the sweeps, after checking
# that data and encoder came out the same (they are made deterministically), and SAVE_TO=DIR
# saves the finished cells when the script ends (`grid_runs.sh save` by hand after a kill). Every
# cell of one grid must come from one build (bf16 results change with the model code): BIN built
# from the commit in DIR/COMMIT, and GRID_COMMIT set to it (grid_runs.sh checks and records it).
#
#   bash bench/paper_grid/run_stmem_grid.sh      (everything in out/stmem-grid)
# env: ENCODER, RECORDS, PRETRAIN_RECORDS, PRETRAIN_EPOCHS, JOBS, BIN, RUNS_FROM, SAVE_TO
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=out/stmem-grid
BIN=${BIN:-$PWD/build/launcher/ecgdist}
[ -x "$BIN" ] || bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -f "$OUT/labelled.h5" ]; then
  "$BIN" synth --out "$OUT/labelled" --records "${RECORDS:-800}" --sampling-rate 500 --seed 21
  "$BIN" preprocess --ptbxl "$OUT/labelled" --out "$OUT/labelled.h5" --sampling-rate 500 \
    --target-rate 250 --no-filter --normalize none
fi
if [ -z "${ENCODER:-}" ] && [ ! -f "$OUT/pretrain/encoder.ckpt" ]; then
  "$BIN" synth --out "$OUT/unlabelled" --records "${PRETRAIN_RECORDS:-2400}" --sampling-rate 500 --seed 31
  "$BIN" preprocess --ptbxl "$OUT/unlabelled" --out "$OUT/unlabelled.h5" --sampling-rate 500
  mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    "$BIN" pretrain --data "$OUT/unlabelled.h5" --model tiny --val-folds 10 --lr 1e-3 \
    --epochs "${PRETRAIN_EPOCHS:-10}" --batch-size 16 --threads 1 --precision bf16 --out "$OUT/pretrain" --progress off
elif [ -n "${ENCODER:-}" ]; then
  mkdir -p "$OUT/pretrain"
  ln -sf "$(readlink -f "$ENCODER")" "$OUT/pretrain/encoder.ckpt"
fi
# The encoder as ST-MEM releases its own: a torch.save {'model': state dict} without our metadata.
# Its pretraining input (each record band-passed and z-scored, then cropped) is what ST-MEM's
# pipeline makes of each crop, but the checkpoint's manifest names a filtered, normalised file and
# the labelled file is raw, so our checkpoint would be refused on it (rightly: the files differ);
# as a foreign encoder it is used the way ST-MEM's released encoder.pth would be.
if [ ! -f "$OUT/pretrain/encoder.pth" ]; then
  "$BIN" export --checkpoint "$OUT/pretrain/encoder.ckpt" --out "$OUT/pretrain/encoder.pt"
  /usr/bin/python3 -c "import sys, torch; torch.save({'model': torch.load(sys.argv[1])}, sys.argv[2])" \
    "$OUT/pretrain/encoder.pt" "$OUT/pretrain/encoder.pth"
fi
echo "stmem_grid: data and encoder ready after $(($(date +%s) - start)) s"
[ -z "${RUNS_FROM:-}" ] || bash bench/paper_grid/grid_runs.sh restore "$RUNS_FROM" "$OUT"
[ -z "${SAVE_TO:-}" ] || trap 'bash bench/paper_grid/grid_runs.sh save "$OUT" "$SAVE_TO"' EXIT

"$BIN" sweep bench/paper_grid/stmem-grid.json --out "$OUT/sweep" --jobs "${JOBS:-2}"
"$BIN" sweep bench/paper_grid/stmem-ablations.json --out "$OUT/ablations" --jobs "${JOBS:-2}"
"$BIN" report "$OUT/sweep" "$OUT/ablations" --out "$OUT/report"
echo "stmem_grid: done in $(($(date +%s) - start)) s; open $OUT/report/index.html"

#!/usr/bin/env bash
# Keeps a grid's finished cells between machines. A cell takes up to 15 minutes on the 2-core VM
# and a whole grid more than one session, while each session starts on a fresh machine: what a
# cell leaves that the report reads (results.json, history.csv, test_predictions.csv, the cell's
# sweep_cell.json and train.log; no checkpoints, ~20 KB) is saved with a fingerprint of the inputs
# it was trained from, and restored into a new out/ only if that fingerprint matches, so a sweep
# there resumes with those cells done (`ecgdist sweep` skips a cell with a results.json).
#   bash bench/paper_grid/grid_runs.sh save    OUT DIR   finished cells of OUT/{sweep,ablations} -> DIR
#   bash bench/paper_grid/grid_runs.sh restore DIR OUT   DIR's cells -> OUT, after checking the fingerprint
# The fingerprint (grid_fingerprint.py) hashes the encoder's tensors and the labelled file's
# signals, labels, folds and ids. The cells' code is DIR/COMMIT: save writes GRID_COMMIT there,
# and restore refuses a different GRID_COMMIT (a grid's cells must all come from one build: bf16
# results change with the model code).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}; from=${2:-}; to=${3:-}
[ -n "$mode" ] && [ -n "$from" ] && [ -n "$to" ] || { sed -n 2,13p "$0" >&2; exit 2; }
fingerprint() { /usr/bin/python3 bench/paper_grid/grid_fingerprint.py "$1/pretrain/encoder.pth" "$1/labelled.h5"; }
FILES=(results.json history.csv test_predictions.csv sweep_cell.json train.log)

case "$mode" in
  save)
    mkdir -p "$to"
    fingerprint "$from" > "$to/FINGERPRINT"
    [ -z "${GRID_COMMIT:-}" ] || echo "$GRID_COMMIT" > "$to/COMMIT"
    n=0
    while IFS= read -r results; do
      cell=$(dirname "${results#"$from"/}")
      mkdir -p "$to/$cell"
      for f in "${FILES[@]}"; do [ ! -f "$from/$cell/$f" ] || cp "$from/$cell/$f" "$to/$cell/$f"; done
      n=$((n + 1))
    done < <(find "$from/sweep" "$from/ablations" -name results.json 2>/dev/null | sort)
    echo "grid_runs: saved $n finished cells of $from in $to"
    ;;
  restore)
    [ -f "$from/FINGERPRINT" ] || { echo "grid_runs: $from/FINGERPRINT missing" >&2; exit 1; }
    if [ "$(fingerprint "$to")" != "$(cat "$from/FINGERPRINT")" ]; then
      echo "grid_runs: $to was not made from the same encoder and labelled file as $from's cells; not restoring" >&2
      exit 1
    fi
    if [ -n "${GRID_COMMIT:-}" ] && [ -f "$from/COMMIT" ] && [ "$GRID_COMMIT" != "$(cat "$from/COMMIT")" ]; then
      echo "grid_runs: $from's cells ran on $(cat "$from/COMMIT"), this binary is $GRID_COMMIT; not restoring" >&2
      exit 1
    fi
    n=0
    while IFS= read -r results; do
      cell=$(dirname "${results#"$from"/}")
      [ -f "$to/$cell/results.json" ] && continue
      mkdir -p "$to/$cell"
      for f in "${FILES[@]}"; do [ ! -f "$from/$cell/$f" ] || cp "$from/$cell/$f" "$to/$cell/$f"; done
      n=$((n + 1))
    done < <(find "$from" -name results.json | sort)
    echo "grid_runs: restored $n cells from $from into $to"
    ;;
  *) echo "grid_runs: unknown mode $mode (save or restore)" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The folders' one-way dependencies (docs/architecture.md), checked on the sources' #include
# lines: the engine includes no task, the tasks never include each other, the torch-free
# libraries include no LibTorch header (nor anything that does), and only comm/ itself knows the
# NCCL communicator.
set -uo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo" || exit 2
failures=0
# forbid FOLDER PATTERN WHY: no source under FOLDER has an #include matching PATTERN. A folder that
# is missing, or holds no source, is a failure: a rule about nothing would pass silently (a folder
# moved without this file following it).
forbid() {
  local hits
  if [ -z "$(find "$1" \( -name '*.h' -o -name '*.cpp' \) -print -quit 2>/dev/null)" ]; then
    echo "FAIL: $1: no such folder, or no source in it (the rule '$3' checks nothing)"
    failures=$((failures + 1))
    return
  fi
  hits=$(grep -rnE "^#include [<\"]($2)" "$1" --include='*.h' --include='*.cpp' || true)
  if [ -n "$hits" ]; then
    echo "FAIL: $1 must not include $2 ($3):"
    echo "$hits"
    failures=$((failures + 1))
  fi
}
forbid trainer/engine 'trainer/finetune/|trainer/pretrain/' "the engine includes no task"
forbid eval 'trainer/|model/' "eval is below the trainer and knows no model"
forbid trainer/finetune 'trainer/pretrain/' "tasks never include each other"
forbid trainer/pretrain 'trainer/finetune/' "tasks never include each other"
forbid experiments/sweep 'trainer/|experiments/report/' "the sweep runs ecgdist processes; it links no task"
forbid experiments/report 'trainer/|experiments/sweep/' "the report reads run folders; it links no task"
for lib in eval data sharding monitoring comm common experiments/sweep experiments/report; do
  forbid "$lib" 'torch/|ATen/|c10/|model/|trainer/' "$lib has no LibTorch"
done
# data/'s own kinds: formats and signal processing know no HDF5 file and not each other; the
# synthetic generator writes formats, never the HDF5 file.
forbid data/formats 'data/(signal|synth)/|data/[a-z_0-9]+\.h|hdf5\.h' "formats know no HDF5 and no signal processing"
forbid data/signal 'data/(formats|synth)/|data/[a-z_0-9]+\.h|hdf5\.h' "signal processing is on arrays only"
forbid data/synth 'data/[a-z_0-9]+\.h|hdf5\.h' "the synthetic PTB-XL is records, not the HDF5 file"
nccl=$(grep -rlE '^#include "comm/nccl_communicator.h"' --include='*.h' --include='*.cpp' . |
       grep -v '^./build' | grep -vE '^./comm/(make_communicator|nccl_communicator)\.cpp$' || true)
if [ -n "$nccl" ]; then
  echo "FAIL: only comm/make_communicator.cpp picks the NCCL communicator; also: $nccl"
  failures=$((failures + 1))
fi
if [ "$failures" -ne 0 ]; then
  echo "$failures layering rule(s) broken"
  exit 1
fi
echo "layering: trainer/{engine,finetune,pretrain}, data/{formats,signal,synth}, eval, experiments and the torch-free libraries keep their one-way dependencies"

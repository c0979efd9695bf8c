#!/usr/bin/env bash
# The folders' one-way dependencies (docs/architecture.md), checked on the sources' #include
# lines: the engine includes no task, the tasks never include each other, the torch-free
# libraries include no LibTorch header (nor anything that does), and only comm/ itself knows the
# NCCL communicator.
set -uo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo" || exit 2
failures=0
# forbid FOLDER PATTERN WHY: no source under FOLDER has an #include matching PATTERN.
forbid() {
  local hits
  hits=$(grep -rnE "^#include [<\"]($2)" "$1" --include='*.h' --include='*.cpp' || true)
  if [ -n "$hits" ]; then
    echo "FAIL: $1 must not include $2 ($3):"
    echo "$hits"
    failures=$((failures + 1))
  fi
}
forbid engine 'finetune/|pretrain/' "the engine includes no task"
forbid eval 'finetune/|pretrain/|engine/|model/' "eval is below the tasks and knows no model"
forbid finetune 'pretrain/' "tasks never include each other"
forbid pretrain 'finetune/' "tasks never include each other"
forbid sweep 'finetune/|pretrain/|engine/|report/' "the sweep runs ecgdist processes; it links no task"
forbid report 'finetune/|pretrain/|engine/' "the report reads run folders; it links no task"
for lib in eval data sharding monitoring comm common sweep report; do
  forbid "$lib" 'torch/|ATen/|c10/|model/|engine/' "$lib has no LibTorch"
done
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
echo "layering: engine/eval/finetune/pretrain and the torch-free libraries keep their one-way dependencies"

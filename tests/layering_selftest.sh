#!/usr/bin/env bash
# The layering check checks something: on a copy of the sources it passes, then fails on a planted
# include that breaks a rule, and fails when a folder it checks is missing (as after a move that
# left tests/layering_test.sh behind).
set -uo pipefail
repo=${1:?usage: layering_selftest.sh REPO}
check=$repo/tests/layering_test.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy() {
  rm -rf "$work/src" && mkdir -p "$work/src"
  (cd "$repo" && find . -path ./build -prune -o -path './build-*' -prune -o -path ./.git -prune -o \
     \( -name '*.h' -o -name '*.cpp' \) -exec cp --parents -t "$work/src" {} +)
}
expect() {  # expect pass|fail WHAT
  local rc=0 out
  out=$(bash "$check" "$work/src" 2>&1) || rc=$?
  if { [ "$1" = pass ] && [ "$rc" != 0 ]; } || { [ "$1" = fail ] && [ "$rc" = 0 ]; }; then
    echo "layering_selftest: expected the check to $1 $2, it exited $rc:"
    echo "$out"
    exit 1
  fi
  echo "layering_selftest: it $1ed $2: ${out%%$'\n'*}"
}
copy
expect pass "on the sources as they are"
echo '#include "trainer/finetune/finetune_task.h"' > "$work/src/trainer/engine/planted.cpp"
expect fail "when the engine includes a task"
copy
echo '#include <torch/torch.h>' > "$work/src/data/planted.cpp"
expect fail "when a torch-free library includes LibTorch"
copy
rm -rf "$work/src/trainer/pretrain"
expect fail "when a folder it checks is missing"

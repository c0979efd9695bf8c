#!/usr/bin/env bash
# python3 of the Debian 13 root (PyTorch 2.6: torch.compile, scaled_dot_product_attention, CPU
# bf16 autocast), run like the host's python3 for the benchmarks' PyTorch anchors:
#   bench/anchor/trixie_python.sh SCRIPT [ARGS...]
# The root is the one scripts/check-cuda-build.sh makes (ECGDIST_TRIXIE_ROOT, default
# /var/cache/ecgdist/trixie-root; `bash scripts/check-cuda-build.sh --prepare-root` makes it). In a
# private mount namespace (gone when python exits: nothing to undo) the root gets /proc, /dev, the
# host's /tmp and this checkout at their own paths, and python starts in the caller's directory
# (one of those two), so SCRIPT, its data files and every argument mean the same inside. The arguments are handed on as arguments, never as shell code. Needs root.
set -euo pipefail
ROOT=${ECGDIST_TRIXIE_ROOT:-${ECGDIST_CUDA_CACHE:-/var/cache/ecgdist}/trixie-root}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "trixie_python.sh: needs root (chroot, mounts)" >&2; exit 2; }
[ -f "$ROOT/.ecgdist-root-complete" ] ||
  { echo "trixie_python.sh: no Debian 13 root at $ROOT; make it with: bash scripts/check-cuda-build.sh --prepare-root" >&2; exit 2; }
chroot "$ROOT" /usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "trixie_python.sh: $ROOT has no python3 torch yet (its preparation may still be running)" >&2; exit 2; }
mkdir -p "$ROOT$REPO" "$ROOT/tmp"
# What the benchmarks set for python (threads, heap policy, torch.distributed's rendezvous) goes
# in; nothing else.
# UCX_LOG_LEVEL: the root's CUDA torch loads UCX, which logs a harmless "failed to get boot id"
# in a chroot; the benchmarks use gloo. USE_LIBUV=0: Debian's torch 2.6 has no libuv, but its
# env:// rendezvous asks for it by default.
envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TORCHINDUCTOR_CACHE_DIR=/tmp/ecgdist-inductor-cache
      UCX_LOG_LEVEL=fatal USE_LIBUV=0)
for v in OPENBLAS_NUM_THREADS OMP_NUM_THREADS GLIBC_TUNABLES MASTER_ADDR MASTER_PORT RANK WORLD_SIZE; do
  [ -z "${!v:-}" ] || envs+=("$v=${!v}")
done
# Inside: $1 root, $2 repo, $3 the working directory, $4 the number of environment entries, then
# those, then python's argv.
exec unshare --mount --propagation private -- /bin/bash -c '
  set -e
  mount -t proc proc "$1/proc"
  mount --rbind /dev "$1/dev"
  mount --bind /tmp "$1/tmp"
  mount --bind "$2" "$1$2"
  root=$1 cwd=$3 n=$4; shift 4
  envs=("${@:1:n}"); shift "$n"
  exec chroot "$root" /usr/bin/env -i -C "$cwd" "${envs[@]}" /usr/bin/python3 "$@"
' trixie_python "$ROOT" "$REPO" "$PWD" "${#envs[@]}" "${envs[@]}" "$@"

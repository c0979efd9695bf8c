#!/usr/bin/env bash
# shellcheck shell=bash
# A throw-away multi-node cluster on one machine, made of Linux network namespaces, for running
# `mpirun ... ecgdist train` over real TCP between "nodes" that can be cut, killed or throttled.
#
#   head namespace  <tag>-h   10.77.0.254  a bridge (br0) that every node's link plugs into;
#                                          mpirun runs here, like on a login node (no rank)
#   node namespace  <tag>-nI  10.77.0.I    one veth link (eth0) to the bridge, I = 1..N
#
# Everything (bridge, links, addresses) lives inside namespaces this script creates, so nothing
# is added to the machine's own network, concurrent clusters (other PIDs) use the same subnet
# without seeing each other, and deleting the namespaces removes every device. <tag> contains the
# PID of the shell that made the cluster (NCL_OWNER, default $$; the CLI's caller for `up`); a
# later `up` removes clusters whose PID is gone (a test killed with SIGKILL cannot run its trap).
#
# Open MPI sees one host per node: the hostfile lists the node addresses (one slot each) and the
# rsh agent ($NCL_DIR/agent, given to mpirun as plm_rsh_agent) runs the daemon's command inside
# the namespace of the address it is given, as ssh would on that host (`sh -c "$*"`), with the
# node's own TMPDIR (the namespaces share the file system and the hostname, so Open MPI's session
# directories must not collide). One difference from ssh: the agent process *is* the remote
# daemon (a child of mpirun), so a daemon that dies is noticed by mpirun at once; a node that
# silently disappears is simulated by cutting its link (ncl_cut), which is noticed only through
# TCP keepalive (slurm/openmpi-mca.conf).
#
# Use from a test (bash):
#   source tests/cluster/netns_cluster.sh
#   trap ncl_down EXIT
#   ncl_up 3 [RATE]            # RATE: tc tbf rate on both directions of every link, e.g. 100mbit
#   ncl_mpirun [mpirun args]   # mpirun in the head namespace over the nodes; the MCA settings
#                              # below are added; returns mpirun's exit code
#   ncl_cut I | ncl_kill_node I | ncl_pids [NS...] | ncl_exec I CMD...
#   ncl_down                   # kills every process in the namespaces, deletes them (idempotent)
# Or from a shell (state kept in a directory):
#   bash tests/cluster/netns_cluster.sh up 3 [--rate 100mbit]       # prints the cluster dir
#   bash tests/cluster/netns_cluster.sh run DIR -- -np 3 ecgdist train ...
#   bash tests/cluster/netns_cluster.sh cut DIR 2 | kill-node DIR 2 | pids DIR | down DIR
# Needs root and `ip netns` (iproute2); `tc` only for RATE. Exit status 77 (skip) from `ncl_check`
# when they are missing.
#
# Environment read by ncl_mpirun:
#   NCL_TUNE      Open MPI tune file [slurm/openmpi-mca.conf of this checkout]; "none" = no file
#                 (Open MPI's default keepalive: a lost daemon is noticed after about 8 minutes)
#   NCL_MPIRUN    mpirun binary [mpirun]
#   NCL_TIMEOUT   seconds after which mpirun gets SIGTERM (then SIGKILL 5 s later) [none]

NCL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NCL_SUBNET=10.77.0
NCL_DIR=""
NCL_TAG=""
NCL_N=0

_ncl_log() { echo "[netns-cluster $(date +%T)] $*" >&2; }

# 0 when this machine can make namespaced clusters; else prints why and returns 77.
ncl_check() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "netns-cluster: needs root (network namespaces, veth, bridge)" >&2
    return 77
  fi
  local probe="ecgncl-probe-$$"
  if ! command -v ip >/dev/null || ! ip netns add "$probe" 2>/dev/null; then
    echo "netns-cluster: 'ip netns add' does not work here (no iproute2 or no netns support)" >&2
    return 77
  fi
  ip netns del "$probe" 2>/dev/null
  return 0
}

# Removes clusters left behind by shells that no longer exist (namespaces ecgncl-<pid>-*).
ncl_sweep_stale() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^ecgncl-[0-9]+-' || true); do
    pid=${ns#ecgncl-}
    pid=${pid%%-*}
    if ! kill -0 "$pid" 2>/dev/null; then
      _ncl_log "removing stale namespace $ns (pid $pid is gone)"
      _ncl_kill_ns "$ns"
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

_ncl_kill_ns() {  # SIGKILLs every process in namespace $1
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}

_ncl_save() {
  cat >"$NCL_DIR/state" <<EOF
NCL_DIR=$NCL_DIR
NCL_TAG=$NCL_TAG
NCL_N=$NCL_N
NCL_RATE=${NCL_RATE:-}
EOF
}

ncl_load() {  # ncl_load DIR: adopts a cluster made by `up` in another process
  # shellcheck disable=SC1091
  source "$1/state"
}

ncl_head() { echo "${NCL_TAG}-h"; }
ncl_ns() { echo "${NCL_TAG}-n$1"; }
ncl_addr() { echo "${NCL_SUBNET}.$1"; }
# The switch-side end of node I's link (in the head namespace); down = the node is cut off.
ncl_port() { echo "ecl${NCL_TAG#ecgncl-}p$1"; }

# tbf on the egress of device $2 in namespace $1 at rate $3. The burst must hold a whole
# GSO/TSO super-packet (veth hands up to 64 KiB to the qdisc), hence at least 128 KiB.
_ncl_shape() {
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst 256kb latency 100ms
}

# ncl_up N [RATE]: N nodes (1..8), optional tbf rate on both directions of each link.
ncl_up() {
  local n=$1 rate=${2:-} i ns port
  NCL_RATE=$rate
  if [ "$n" -lt 1 ] || [ "$n" -gt 8 ]; then
    echo "netns-cluster: 1..8 nodes, not $n" >&2
    return 2
  fi
  ncl_check || return $?
  ncl_sweep_stale
  NCL_TAG="ecgncl-${NCL_OWNER:-$$}"
  NCL_N=$n
  NCL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ecgdist-netns-$$-XXXXXX")
  chmod 755 "$NCL_DIR"
  _ncl_save
  local head
  head=$(ncl_head)
  ip netns add "$head" || return 1
  ip -n "$head" link set lo up
  ip -n "$head" link add br0 type bridge
  ip -n "$head" addr add "$(ncl_addr 254)/24" dev br0
  ip -n "$head" link set br0 up
  : >"$NCL_DIR/hostfile"
  for ((i = 1; i <= n; i++)); do
    ns=$(ncl_ns "$i")
    port=$(ncl_port "$i")
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    # Created in the node namespace, the switch end moved into the head namespace: no device
    # ever appears in the machine's own namespace.
    ip -n "$ns" link add eth0 type veth peer name "$port" netns "$head" || return 1
    ip -n "$ns" addr add "$(ncl_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$head" link set "$port" master br0
    ip -n "$head" link set "$port" up
    if [ -n "$rate" ]; then
      _ncl_shape "$ns" eth0 "$rate" || return 1       # node -> bridge
      _ncl_shape "$head" "$port" "$rate" || return 1  # bridge -> node
    fi
    mkdir -p "$NCL_DIR/tmp-n$i"
    echo "$(ncl_addr "$i") slots=1" >>"$NCL_DIR/hostfile"
  done
  mkdir -p "$NCL_DIR/tmp-h"
  # The rsh agent: `agent HOST COMMAND...` runs COMMAND in HOST's namespace, like ssh.
  cat >"$NCL_DIR/agent" <<EOF
#!/bin/sh
# plm_rsh_agent for the namespaced cluster $NCL_TAG: runs the command in the node's namespace.
host=\$1
shift
case "\$host" in
  ${NCL_SUBNET}.[1-9]) i=\${host##*.} ;;
  *) echo "netns-cluster agent: unknown host \$host" >&2; exit 255 ;;
esac
echo "\$host: \$*" >>"$NCL_DIR/agent.log"
# Like sshd: a fresh environment (nothing of mpirun's is inherited; Open MPI must pass what the
# daemon needs on its command line), the command run by a shell, in a session of its own. Like
# ssh, nothing but the network ties the daemon to mpirun: no shared pipe (its output goes to
# daemon-nI.log; Open MPI sends the ranks' output over TCP) and no process group, so mpirun ending
# does not end it (a partitioned node's daemon lives on until it notices the lost connection
# itself). The agent exits with the daemon, as ssh does (a second later when the daemon was
# killed: see below).
ip netns exec "${NCL_TAG}-n\$i" env -i PATH="\$PATH" HOME="\${HOME:-/root}" \
  TMPDIR="$NCL_DIR/tmp-n\$i" setsid sh -c "\$*" </dev/null >>"$NCL_DIR/daemon-n\$i.log" 2>&1 &
daemon=\$!
exec 2>/dev/null  # no "Killed" from this shell in mpirun's output (ssh prints none)
wait \$daemon
rc=\$?
# A daemon killed by a signal: ssh's report of that (exit 255) reaches mpirun after the kernel has
# reset the daemon's TCP connections, so mpirun first sees the lost connection and names the
# node. A local agent would report at once and win that race ("ORTE was unable to reliably start
# one or more daemons", no node named); wait a second, as the network would make ssh wait.
[ "\$rc" -gt 128 ] && sleep 1
exit "\$rc"
EOF
  chmod 755 "$NCL_DIR/agent"
  _ncl_log "up: $n nodes ${NCL_SUBNET}.1-$n${rate:+, $rate each way}, dir $NCL_DIR"
}

# The mpirun options that make Open MPI use the namespaced nodes (and only their network).
ncl_mpirun_args() {
  local tune=${NCL_TUNE:-$NCL_REPO/slurm/openmpi-mca.conf}
  # shellcheck disable=SC2054  # tcp,self is one word
  local a=(--hostfile "$NCL_DIR/hostfile" --mca plm_rsh_agent "$NCL_DIR/agent"
    --mca btl tcp,self --mca btl_tcp_if_include "${NCL_SUBNET}.0/24"
    --mca oob_tcp_if_include "${NCL_SUBNET}.0/24" --bind-to none)
  [ "$tune" = none ] || a+=(--tune "$tune")
  printf '%s\n' "${a[@]}"
}

# ncl_mpirun ARGS...: mpirun (in the head namespace) with the cluster's options and ARGS.
ncl_mpirun() {
  local opts
  mapfile -t opts < <(ncl_mpirun_args)
  local bound=()
  [ -n "${NCL_TIMEOUT:-}" ] && bound=(timeout -k 5 "$NCL_TIMEOUT")
  ip netns exec "$(ncl_head)" env TMPDIR="$NCL_DIR/tmp-h" OMPI_ALLOW_RUN_AS_ROOT=1 \
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "${bound[@]}" "${NCL_MPIRUN:-mpirun}" "${opts[@]}" "$@"
}

# ncl_exec I CMD...: runs CMD in node I's namespace.
ncl_exec() {
  local i=$1
  shift
  ip netns exec "$(ncl_ns "$i")" "$@"
}

# ncl_cut I: node I's link goes down at the bridge. The node keeps its address and routes and its
# packets vanish (no error, no RST): a silent partition, as a failed switch port or cable.
ncl_cut() { ip -n "$(ncl_head)" link set "$(ncl_port "$1")" down; }
ncl_heal() { ip -n "$(ncl_head)" link set "$(ncl_port "$1")" up; }

# ncl_kill_node I: SIGKILLs every process in node I's namespace (a crashed node's processes).
ncl_kill_node() { _ncl_kill_ns "$(ncl_ns "$1")"; }

# ncl_pids [NS...]: PIDs of the processes in the given namespaces [head and every node].
# shellcheck disable=SC2120  # callers may name namespaces
ncl_pids() {
  local nss=("$@") i
  if [ ${#nss[@]} -eq 0 ]; then
    nss=("$(ncl_head)")
    for ((i = 1; i <= NCL_N; i++)); do nss+=("$(ncl_ns "$i")"); done
  fi
  for i in "${nss[@]}"; do ip netns pids "$i" 2>/dev/null; done
}

# ncl_down: kills what runs in the namespaces, deletes them and the state dir. Idempotent.
ncl_down() {
  [ -n "$NCL_TAG" ] || return 0
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NCL_TAG}-" || true); do
    _ncl_kill_ns "$ns"
  done
  sleep 0.2
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NCL_TAG}-" || true); do
    _ncl_kill_ns "$ns"
    ip netns del "$ns" 2>/dev/null || _ncl_log "could not delete namespace $ns"
  done
  if [ -n "$NCL_DIR" ] && [ -d "$NCL_DIR" ] && [ -z "${NCL_KEEP:-}" ]; then
    rm -rf "$NCL_DIR"
  fi
  NCL_TAG=""
}

_ncl_usage() {
  cat >&2 <<'EOF'
usage: netns_cluster.sh up N [--rate RATE]      make N namespaced nodes, print the cluster dir
       netns_cluster.sh run DIR -- MPIRUN-ARGS   mpirun over them (hostfile, agent, MCA settings)
       netns_cluster.sh cut|heal|kill-node DIR I
       netns_cluster.sh pids DIR                 processes still in the cluster's namespaces
       netns_cluster.sh down DIR                 kill everything in them and delete them
EOF
  exit 2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  cmd=${1:-}
  shift || true
  case "$cmd" in
    up)
      [ $# -ge 1 ] || _ncl_usage
      n=$1
      shift
      rate=""
      while [ $# -gt 0 ]; do
        case "$1" in
          --rate) rate=$2; shift 2 ;;
          *) _ncl_usage ;;
        esac
      done
      # The namespaces outlive this process: tag them with the calling shell's PID, so that a
      # later `up` treats them as stale only once that shell is gone.
      NCL_OWNER=$PPID ncl_up "$n" "$rate" || { rc=$?; ncl_down; exit "$rc"; }
      echo "$NCL_DIR"
      ;;
    run)
      [ $# -ge 2 ] || _ncl_usage
      ncl_load "$1"
      shift
      [ "$1" = -- ] && shift
      ncl_mpirun "$@"
      ;;
    cut) ncl_load "$1"; ncl_cut "$2" ;;
    heal) ncl_load "$1"; ncl_heal "$2" ;;
    kill-node) ncl_load "$1"; ncl_kill_node "$2" ;;
    pids) ncl_load "$1"; ncl_pids ;;
    down) ncl_load "$1"; ncl_down ;;
    *) _ncl_usage ;;
  esac
fi

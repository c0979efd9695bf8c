# shellcheck shell=bash
# A real, throw-away, single-node SLURM cluster on localhost, for tests. Source this file, then:
#
#   cluster_start DIR    # munged + slurmctld + slurmd under DIR, waits until the node is idle;
#                        # exports SLURM_CONF so sbatch/squeue/scontrol talk to this cluster
#   cluster_stop         # cancels jobs, stops the daemons by PID (idempotent; call from trap EXIT)
#   job_state ID         # JobState of job ID ("" when unknown)
#   job_field ID FIELD   # one field of `scontrol show job ID` (e.g. Restarts, ExitCode)
#   wait_job_state ID TIMEOUT_S STATE...  # polls every 0.2 s until the job is in one of STATEs
#
# Everything lives under DIR (munge key and socket, slurm.conf, state, spool, logs, pid files), the
# ports are free ones picked at start, and nothing under /etc is read or written: the Debian
# packages' own config (if any) is bypassed through SLURM_CONF and explicit munged flags. Runs as
# root (SlurmUser=root) because that is what CI and the dev machines give us; slurmd must be root
# anyway to launch jobs as the submitting user.
#
# Why these settings (Debian 12, slurm-wlm 22.05, inside containers without systemd/cgroup v2
# delegation): proctrack/linuxproc + task/none need no cgroup hierarchy; select/cons_tres is the
# modern selector; AuthInfo cred_expire=5 because a requeued job may not start again on the same
# node before its old credential expires (default 120 s would make every preemption test slow).

CLUSTER_DIR=""
CLUSTER_PIDS=()

_cluster_log() { echo "[slurm-cluster $(date +%T)] $*" >&2; }

# Prints N free TCP ports on localhost (bound then released by the kernel's ephemeral allocator).
_free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 seconds (0.2 s steps) until command "$1" succeeds.
_wait_until() {
  local cmd="$1" timeout="$2" i
  for ((i = 0; i < timeout * 5; i++)); do
    if eval "$cmd" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

_dump_logs() {
  local f
  for f in "$CLUSTER_DIR"/log/*.log; do
    [ -f "$f" ] || continue
    echo "----- tail of $f" >&2
    tail -n 30 "$f" >&2
  done
}

cluster_start() {
  CLUSTER_DIR="$1"
  local d="$CLUSTER_DIR"
  mkdir -p "$d"/{munge,etc,state,spool,log,run}
  # 711: clients (job steps run as the submitting user) must reach the socket; the key stays 600.
  chmod 711 "$d/munge"

  # --- munge, with its own key and socket.
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1 count=1024 status=none
  chmod 600 "$d/munge/munge.key"
  munged --force --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" \
    --seed-file="$d/munge/munged.seed" || {
    _cluster_log "munged failed to start"
    _dump_logs
    return 1
  }
  _wait_until "[ -s '$d/munge/munged.pid' ] && [ -S '$d/munge/munge.socket' ]" 10 || {
    _cluster_log "munged did not come up"
    _dump_logs
    return 1
  }
  CLUSTER_PIDS+=("$(cat "$d/munge/munged.pid")")

  # --- slurm.conf for one node: this machine, with the CPUs and memory slurmd itself detects.
  local node_line node cpus mem
  node_line=$(slurmd -C | head -n 1)
  node=$(sed -n 's/.*NodeName=\([^ ]*\).*/\1/p' <<<"$node_line")
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
  # Leave a little memory slack: RealMemory above what slurmd measures at registration drains
  # the node ("Low RealMemory").
  mem=$((mem * 95 / 100))
  local ctld_port slurmd_port
  read -r ctld_port slurmd_port <<<"$(_free_ports 2)"
  local mpi_default=none
  if srun_mpi_types | grep -qw pmix; then mpi_default=pmix; fi

  export SLURM_CONF="$d/etc/slurm.conf"
  cat >"$SLURM_CONF" <<EOF
ClusterName=ecgtest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${d}/munge/munge.socket,cred_expire=5
StateSaveLocation=${d}/state
SlurmdSpoolDir=${d}/spool/slurmd-%n
SlurmctldPidFile=${d}/run/slurmctld.pid
SlurmdPidFile=${d}/run/slurmd-%n.pid
SlurmctldLogFile=${d}/log/slurmctld.log
SlurmdLogFile=${d}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs that ask for no memory get their CPUs' share instead of the whole node, so that 1-CPU jobs
# can run side by side.
DefMemPerCPU=$((mem / cpus))
MpiDefault=${mpi_default}
SwitchType=switch/none
LaunchParameters=use_interactive_step
JobRequeue=1
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
PlugStackConfig=${d}/etc/plugstack.conf
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  : >"$d/etc/plugstack.conf"
  _cluster_log "slurm.conf: node ${node} CPUs=${cpus} RealMemory=${mem} ports ${ctld_port}/${slurmd_port} MpiDefault=${mpi_default}"

  # --- daemons in the foreground (-D) started in the background: their PIDs are ours to stop.
  # -i: ignore saved state from a previous run (there is none in a fresh dir; belt and braces).
  slurmctld -D -i -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
  CLUSTER_PIDS+=("$!")
  _wait_until "scontrol ping | grep -q UP" 30 || {
    _cluster_log "slurmctld did not answer scontrol ping"
    _dump_logs
    cat "$d/log/slurmctld.out" >&2
    return 1
  }
  slurmd -D -f "$SLURM_CONF" >"$d/log/slurmd.out" 2>&1 &
  CLUSTER_PIDS+=("$!")
  _wait_until "sinfo -h -N -o %T | grep -qx idle" 60 || {
    _cluster_log "node never became idle: $(sinfo -h -N -o '%N %T %E' 2>&1)"
    _dump_logs
    cat "$d/log/slurmd.out" >&2
    return 1
  }
  _cluster_log "cluster up in ${d}"
}

# MPI plugin types srun offers (needs no running cluster, only SLURM_CONF or the plugin dir).
srun_mpi_types() {
  local f
  for f in /usr/lib/*/slurm-wlm/mpi_*.so /usr/lib/slurm/mpi_*.so /usr/lib64/slurm/mpi_*.so; do
    [ -e "$f" ] || continue
    f=${f##*/mpi_}
    echo "${f%.so}"
  done
}

cluster_stop() {
  [ -n "$CLUSTER_DIR" ] || return 0
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ] && _pid_alive "${CLUSTER_PIDS[1]:-}"; then
    # Cancel what is left so that slurmd's step daemons (slurmstepd, double-forked, so not our
    # children) end with the jobs; then wait briefly for the queue to drain.
    local jobs
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      _wait_until "[ -z \"\$(squeue -h -t running,completing -o %i 2>/dev/null)\" ]" 20 || true
    fi
  fi
  local i pid
  for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${CLUSTER_PIDS[$i]}
    _pid_alive "$pid" || continue
    kill -TERM "$pid" 2>/dev/null || true
    _wait_until "! kill -0 $pid" 10 || kill -KILL "$pid" 2>/dev/null || true
  done
  CLUSTER_PIDS=()
  CLUSTER_DIR=""
}

job_field() {
  scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

job_state() { job_field "$1" JobState; }

wait_job_state() {
  local id="$1" timeout="$2" i s want
  shift 2
  for ((i = 0; i < timeout * 5; i++)); do
    s=$(job_state "$id")
    for want in "$@"; do
      if [ "$s" = "$want" ]; then
        echo "$s"
        return 0
      fi
    done
    sleep 0.2
  done
  echo "$s"
  return 1
}

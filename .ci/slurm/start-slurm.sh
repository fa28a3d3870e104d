#!/usr/bin/env bash
# Start a throwaway single-node SLURM cluster (with accounting) on this machine, for CI and for
# trying profiles/slurm locally. Debian 12, as root, no systemd or cgroups needed.
#
#   .ci/slurm/start-slurm.sh          install (apt, once), configure and start; idempotent
#   source "$IDC_SYNTH_SLURM_DIR/env.sh"   (default /tmp/idc-synth-slurm) to point the SLURM
#                                      commands at it; a plain `sinfo` also works when this
#                                      script could link /etc/slurm/slurm.conf to its config
#   .ci/slurm/stop-slurm.sh [--purge] stop exactly the daemons started here
#
# Everything (config, munge key, MariaDB data, spool, state, logs, pid files) lives
# under $IDC_SYNTH_SLURM_DIR. Daemons: munged, mariadbd (127.0.0.1:$IDC_SYNTH_SLURM_DB_PORT),
# slurmdbd, slurmctld, slurmd. The node has two fake GPUs (GRES gpu:2 backed by character devices
# that are /dev/null) so rules that request `gpu=1` schedule and run on a CPU machine.
set -euo pipefail

RUN=${IDC_SYNTH_SLURM_DIR:-/tmp/idc-synth-slurm}
CLUSTER=${IDC_SYNTH_SLURM_CLUSTER:-idcsynth}
ACCOUNT=${IDC_SYNTH_SLURM_ACCOUNT:-idcsynth}
PARTITION=${IDC_SYNTH_SLURM_PARTITION:-debug}
DB_PORT=${IDC_SYNTH_SLURM_DB_PORT:-3307}
CTLD_PORT=${IDC_SYNTH_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${IDC_SYNTH_SLURM_SLURMD_PORT:-6818}
DBD_PORT=${IDC_SYNTH_SLURM_DBD_PORT:-6819}
DB_PASSWORD=idcsynth-ci # a local, throwaway database reachable only on 127.0.0.1
NODE=$(hostname -s)

log() { echo "[start-slurm] $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    echo "start-slurm.sh: run as root (it installs packages and runs the SLURM daemons)" >&2
    exit 1
fi

# -- 1. packages (skipped when already installed)
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- helpers
alive() { # alive NAME: the daemon we started under NAME is still running
    local pidfile="$RUN/pid/$1.pid"
    [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    while ((SECONDS < deadline)); do
        if timeout -k 2 5 "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.3
    done
    log "timed out waiting for $what; logs in $RUN/log"
    tail -n 20 "$RUN"/log/*.log >&2 || true
    return 1
}

mkdir -p "$RUN"/{etc,pid,log,munge,mysql,spool/slurmd,state/slurmctld,dev}
chmod 700 "$RUN/munge"
export SLURM_CONF="$RUN/etc/slurm.conf"

# -- 2. configuration (rewritten each time: same inputs, same files)
# RealMemory a bit under the machine's, so jobs asking for "all of it" still fit.
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REAL_MEMORY=$((total_mb * 95 / 100))
CPUS=$(nproc)
# Two fake GPUs, character devices that are /dev/null (major 1, minor 3): with one CPU per job,
# the node's two CPUs then run two GPU jobs at once, as a GPU node of a real cluster would.
GPUS=2
for ((i = 0; i < GPUS; i++)); do
    [[ -c $RUN/dev/fakegpu$i ]] || mknod "$RUN/dev/fakegpu$i" c 1 3
done

old_config=$(cat "$RUN/etc/slurm.conf" "$RUN/etc/gres.conf" 2>/dev/null || true)
cat >"$RUN/etc/slurm.conf" <<EOF
# Written by .ci/slurm/start-slurm.sh: single-node test cluster, runs as root.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$RUN/state/slurmctld
SlurmdSpoolDir=$RUN/spool/slurmd
SlurmctldPidFile=$RUN/pid/slurmctld.pid
SlurmdPidFile=$RUN/pid/slurmd.pid
SlurmctldLogFile=$RUN/log/slurmctld.log
SlurmdLogFile=$RUN/log/slurmd.log
# No systemd, no cgroups: track processes by parentage, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# Accounting on: the SLURM executor plugin's default status check is sacct.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu
# Keep sbatch --comment (the plugin writes rule_<rule>_wildcards_<...> there) in sacct.
AccountingStoreFlags=job_comment
# Finished jobs stay visible to squeue for 10 min (for slurm-status-command: squeue).
MinJobAge=600
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEMORY Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$RUN/etc/gres.conf" <<EOF
AutoDetect=off
NodeName=$NODE Name=gpu File=$RUN/dev/fakegpu[0-$((GPUS - 1))]
EOF

cat >"$RUN/etc/slurmdbd.conf" <<EOF
# Written by .ci/slurm/start-slurm.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/pid/slurmdbd.pid
LogFile=$RUN/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
chmod 600 "$RUN/etc/slurmdbd.conf"

cat >"$RUN/env.sh" <<EOF
export SLURM_CONF=$RUN/etc/slurm.conf
EOF

# Let a bare `sinfo` find the cluster: link /etc/slurm/slurm.conf when nobody else owns it.
mkdir -p /etc/slurm
if [[ ! -e /etc/slurm/slurm.conf && ! -L /etc/slurm/slurm.conf ]]; then
    ln -s "$RUN/etc/slurm.conf" /etc/slurm/slurm.conf
    echo /etc/slurm/slurm.conf >"$RUN/linked"
elif [[ $(readlink /etc/slurm/slurm.conf || true) != "$RUN/etc/slurm.conf" ]]; then
    log "/etc/slurm/slurm.conf belongs to another setup; source $RUN/env.sh to use this cluster"
fi

# -- 3. munge, on its default socket: SLURM 22.05's sacctmgr ignores AuthInfo=socket=... A
# munged already answering there (the system's) is used as it is, and left alone by stop.
MUNGE_SOCKET=/run/munge/munge.socket.2
if ! alive munged && ! timeout 5 munge -n >/dev/null 2>&1; then
    [[ -s $RUN/munge/munge.key ]] || {
        dd if=/dev/urandom of="$RUN/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$RUN/munge/munge.key"
    }
    mkdir -p "$(dirname "$MUNGE_SOCKET")"
    log "starting munged"
    munged --force --key-file="$RUN/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$RUN/pid/munged.pid" --log-file="$RUN/log/munged.log" \
        --seed-file="$RUN/munge/munged.seed"
fi
wait_for 10 munged munge -n

# -- 4. MariaDB for slurmdbd
MYSQL=(mariadb --no-defaults --socket="$RUN/mysql/mysqld.sock" -uroot)
if ! alive mariadbd; then
    if [[ ! -d $RUN/mysql/data/mysql ]]; then
        log "initialising MariaDB in $RUN/mysql/data"
        mariadb-install-db --no-defaults --user=root --datadir="$RUN/mysql/data" \
            --auth-root-authentication-method=socket >"$RUN/log/mariadb-install.log" 2>&1
    fi
    log "starting mariadbd"
    setsid mariadbd --no-defaults --user=root --datadir="$RUN/mysql/data" \
        --socket="$RUN/mysql/mysqld.sock" --pid-file="$RUN/pid/mariadbd.pid" \
        --bind-address=127.0.0.1 --port="$DB_PORT" --skip-name-resolve \
        --innodb-buffer-pool-size=64M --log-error="$RUN/log/mariadbd.log" \
        </dev/null >/dev/null 2>&1 &
fi
wait_for 30 mariadbd "${MYSQL[@]}" -e "SELECT 1"
"${MYSQL[@]}" <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

# -- 5. slurmdbd, then the cluster, account and user in it
if ! alive slurmdbd; then
    log "starting slurmdbd"
    slurmdbd
fi
wait_for 30 slurmdbd sacctmgr -n list cluster
sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" ||
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
sacctmgr -n list account format=account | grep -qw "$ACCOUNT" ||
    sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description=ci organization=ci >/dev/null
sacctmgr -n list user format=user | grep -qw root ||
    sacctmgr -i add user root account="$ACCOUNT" defaultaccount="$ACCOUNT" >/dev/null
sacctmgr -n list assoc format=user,account | grep -E "root +$ACCOUNT" -q ||
    sacctmgr -i add user root account="$ACCOUNT" >/dev/null

# -- 6. controller and node
if ! alive slurmctld; then
    log "starting slurmctld"
    slurmctld
fi
wait_for 30 slurmctld scontrol ping
if [[ -n $old_config && $old_config != "$(cat "$RUN/etc/slurm.conf" "$RUN/etc/gres.conf")" ]]; then
    log "configuration changed: scontrol reconfigure"
    scontrol reconfigure
fi
if ! alive slurmd; then
    log "starting slurmd"
    slurmd
fi
node_ready=(sh -c "sinfo -h -n '$NODE' -o %t | grep -Eq '^(idle|mix|alloc)'")
if ! wait_for 30 "node $NODE to be idle" "${node_ready[@]}"; then
    scontrol update nodename="$NODE" state=resume || true # e.g. down after an unclean stop
    wait_for 15 "node $NODE to be idle" "${node_ready[@]}"
fi

log "ready: cluster $CLUSTER, partition $PARTITION, node $NODE ($CPUS CPUs, ${REAL_MEMORY} MB, gpu:$GPUS)"
log "use it with: source $RUN/env.sh"

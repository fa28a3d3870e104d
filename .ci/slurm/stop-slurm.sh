#!/usr/bin/env bash
# Stop the single-node SLURM cluster that .ci/slurm/start-slurm.sh started: only the daemons
# whose pid files it wrote under $IDC_SYNTH_SLURM_DIR. Idempotent. With --purge, also delete
# that folder (configuration, accounting database, logs) and the /etc/slurm/slurm.conf link.
set -euo pipefail

RUN=${IDC_SYNTH_SLURM_DIR:-/tmp/idc-synth-slurm}
purge=false
[[ ${1:-} == --purge ]] && purge=true

log() { echo "[stop-slurm] $*" >&2; }

stop() { # stop NAME: TERM the pid in NAME.pid, wait up to 20 s, then KILL
    local pidfile="$RUN/pid/$1.pid" pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping $1 ($pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$1 ($pid) ignored TERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

if [[ -d $RUN ]]; then
    export SLURM_CONF="$RUN/etc/slurm.conf"
    # Cancel what is still queued or running here, so no job outlives its cluster.
    if [[ -s $RUN/pid/slurmctld.pid ]] && kill -0 "$(cat "$RUN/pid/slurmctld.pid")" 2>/dev/null; then
        scancel --user=root 2>/dev/null || true
    fi
    for daemon in slurmd slurmctld slurmdbd mariadbd munged; do
        stop "$daemon"
    done
fi

if [[ -s $RUN/linked && $(readlink /etc/slurm/slurm.conf || true) == "$RUN/etc/slurm.conf" ]]; then
    $purge && rm -f /etc/slurm/slurm.conf "$RUN/linked"
fi

if $purge; then
    log "removing $RUN"
    rm -rf "$RUN"
fi
log "stopped"

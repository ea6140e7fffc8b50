#!/bin/bash
# runtime.sh BERTH_BINARY [N]: the runtime benchmark of issue 2.
#
# Times N create+start+wait+delete cycles of /bin/true in a busybox-static rootfs with the
# namespaces pid, mount, ipc, uts, network (and cgroup where the kernel has it), side by side in
# one run on one machine:
#   unshare + chroot      the floor: the same namespaces, nothing else
#   berth runtime run     the same OCI bundle (foreground run = create, start, wait, delete)
#   runc run, crun run    the same bundle, where they run ("n/a: <their error>" where not)
#   docker run --rm       the same rootfs imported as an image, on a private dockerd
# and prints a markdown table with ratios plus the issue's targets (PASS/MISS).
#
# Environment: N_DOCKER (default 30) runs for docker, which is slow; BENCH_N is the default N;
# BENCH_ROUNDS (default 10) rounds the runs are interleaved in; BENCH_BARE=0 drops the extra
# "bare bundle" berth row. See docs/design/benchmarks.md.
#
# Nothing is left behind: the temp dir (rootfs, bundles, runtime roots, dockerd's data and exec
# roots) is removed, the dockerd this script started is stopped, and cgroups named after this
# run are removed. The host network is not touched: dockerd runs with --bridge=none and no
# iptables, and every container has an empty network namespace.
set -euo pipefail

usage() {
  echo "usage: bench/runtime.sh BERTH_BINARY [N]   (env: N_DOCKER=30, BENCH_ROUNDS=10, BENCH_BARE=1)" >&2
  exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
berth=$1
runs=${2:-${BENCH_N:-100}}
runs_docker=${N_DOCKER:-30}
bare=${BENCH_BARE:-1}
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[[ $runs_docker =~ ^[0-9]+$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/runtime.sh: must run as root" >&2; exit 1; }
case $berth in /*) ;; *) berth=$PWD/$berth ;; esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
tag=berth-bench-$$ # prefix of every container id and cgroup this run creates
tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
probe_expect="berth-bench-ok 1" # printed by the probe: proves it ran, as PID 1 of a new pid ns

# shellcheck source=lib/dockerd.sh
. "$here/lib/dockerd.sh"
# shellcheck source=lib/tmpdir.sh
. "$here/lib/tmpdir.sh"

log() { echo "runtime.sh: $*" >&2; }

cleanup() {
  local rc=$? p m
  set +e
  dockerd_stop
  remove_tmp_tree "$tmp" runtime.sh
  # Cgroups named after this run (container ids, dockerd's cgroup parent): deepest first.
  find /sys/fs/cgroup -maxdepth 5 -type d -name "$tag*" 2>/dev/null | sort -r |
    while read -r m; do rmdir "$m" 2>/dev/null; done
  dockerd_forget_host_leftovers
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Rootfs and bundles

rootfs=$tmp/bundle/rootfs
if [ -x "$repo/scripts/make-rootfs" ]; then
  "$repo/scripts/make-rootfs" "$rootfs"
else
  mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
fi

namespaces=(pid mount ipc uts network)
unshare_flags=(--pid --fork --mount --uts --ipc --net)
if [ -e /proc/self/ns/cgroup ]; then
  namespaces+=(cgroup)
  unshare_flags+=(--cgroup)
fi

# make_config ROOT_PATH FULL|BARE ARG...: an OCI runtime config.json on stdout.
# FULL is what `runc spec` would give a real container (proc, /dev, devpts, shm, mqueue, sysfs,
# cgroup mounts, masked and read-only paths, a small capability set, read-only root), except
# that the capabilities are not also ambient: `runc spec` puts them in ambient without
# inheritable, which the kernel cannot grant and a strict runtime refuses;
# BARE has the namespaces and a /proc mount (runc refuses to start without one) and nothing
# else, to show what the other mounts and masked paths cost.
make_config() {
  local root=$1 kind=$2
  shift 2
  jq -n --arg root "$root" --arg kind "$kind" \
    --argjson args "$(printf '%s\n' "$@" | jq -R . | jq -s .)" \
    --argjson ns "$(printf '%s\n' "${namespaces[@]}" | jq -R '{type: .}' | jq -s .)" '
    def caps: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    {
      ociVersion: "1.0.2",
      process: {
        terminal: false,
        user: {uid: 0, gid: 0},
        args: $args,
        env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        cwd: "/",
        capabilities: {bounding: caps, effective: caps, permitted: caps},
        rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}],
        noNewPrivileges: true
      },
      root: {path: $root, readonly: true},
      hostname: "berth-bench",
      mounts: [{destination: "/proc", type: "proc", source: "proc"}],
      linux: {namespaces: $ns}
    }
    | if $kind == "FULL" then
        .mounts += [
          {destination: "/dev", type: "tmpfs", source: "tmpfs",
           options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
          {destination: "/dev/pts", type: "devpts", source: "devpts",
           options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
          {destination: "/dev/shm", type: "tmpfs", source: "shm",
           options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
          {destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
           options: ["nosuid", "noexec", "nodev"]},
          {destination: "/sys", type: "sysfs", source: "sysfs",
           options: ["nosuid", "noexec", "nodev", "ro"]},
          {destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
           options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ]
        | .linux.maskedPaths = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/sys/firmware", "/proc/scsi"]
        | .linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger"]
      else . end'
}

probe_args=(/bin/sh -c 'echo berth-bench-ok $$')
mkdir -p "$tmp"/{bundle-probe,bundle-bare,bundle-bare-probe,state}
make_config rootfs FULL /bin/true >"$tmp/bundle/config.json"
make_config "$rootfs" FULL "${probe_args[@]}" >"$tmp/bundle-probe/config.json"
make_config "$rootfs" BARE /bin/true >"$tmp/bundle-bare/config.json"
make_config "$rootfs" BARE "${probe_args[@]}" >"$tmp/bundle-bare-probe/config.json"

# ---------------------------------------------------------------------------------------------
# Measuring

# One row per contender; a row with a note is "n/a: note", else its runs are timed.
keys=() labels=() counts=() fns=() totals=() done_runs=() notes=()
wrap=() # command prefix: a timeout while probing, nothing while timing
rounds=${BENCH_ROUNDS:-10}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage

# first_error FILE...: the first non-empty line of the files, runc's logfmt unwrapped, made safe
# for a markdown table cell.
first_error() {
  local line
  line=$(cat "$@" 2>/dev/null | sed -e 's/^time=.* msg="\(.*\)"$/\1/' | grep -m1 -v '^[[:space:]]*$' ||
    true)
  [ -n "$line" ] || line="exit status non-zero, no message"
  line=${line//|//}
  printf '%s' "${line:0:140}"
}

# na KEY LABEL RUNS REASON: a row that cannot be measured.
na() {
  keys+=("$1") labels+=("$2") counts+=("$3") fns+=("") totals+=(0) done_runs+=(0)
  notes+=("n/a: $4")
  log "$2: n/a: $4"
}

# add KEY LABEL RUNS FUNC: FUNC probe ID must print "$probe_expect" (which proves that it ran,
# as PID 1 of a new pid namespace, and warms caches); then the row waits for time_rows.
add() {
  local key=$1 label=$2 n=$3 fn=$4 out rc=0 why err=$tmp/err
  : >"$err"
  wrap=(timeout --kill-after=5 60) # a hanging contender is caught by the probe
  out=$("$fn" probe "$tag-$key-probe" 2>"$err") || rc=$?
  wrap=()
  if [ "$rc" != 0 ]; then
    why=$(first_error "$err")
    [ "$rc" != 124 ] || why="probe timed out after 60 s"
    na "$key" "$label" "$n" "$why"
  elif [ "$out" != "$probe_expect" ]; then
    out=${out//$'\n'/ }
    na "$key" "$label" "$n" "probe printed \"${out:0:60}\", expected \"$probe_expect\""
  else
    keys+=("$key") labels+=("$label") counts+=("$n") fns+=("$fn") totals+=(0) done_runs+=(0)
    notes+=("")
  fi
}

# time_rows: times every row that is measurable and not timed yet. The runs are interleaved in
# $rounds rounds (each row does 1/rounds of its runs per round, in a rotating order), so that a
# slow spell of the machine hits every contender alike instead of the one that happened to run.
time_rows() {
  local pending=() j r k i n from to start end fn p
  for j in "${!keys[@]}"; do
    if [ -z "${notes[$j]}" ] && [ "${done_runs[$j]}" = 0 ]; then pending+=("$j"); fi
  done
  p=${#pending[@]}
  [ "$p" -gt 0 ] || return 0
  log "timing $p contender(s), interleaved in $rounds rounds"
  for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < p; k++)); do
      j=${pending[$(((k + r) % p))]}
      [ -z "${notes[$j]}" ] || continue
      n=${counts[$j]} fn=${fns[$j]}
      from=$((n * r / rounds)) to=$((n * (r + 1) / rounds))
      [ "$to" -gt "$from" ] || continue
      start=$(date +%s%N)
      for ((i = from + 1; i <= to; i++)); do
        if ! "$fn" run "$tag-${keys[$j]}-$i" >/dev/null 2>"$tmp/err"; then
          notes[j]="n/a: run $i of $n failed: $(first_error "$tmp/err")"
          log "${labels[$j]}: ${notes[$j]}"
          break
        fi
      done
      end=$(date +%s%N)
      totals[j]=$((totals[j] + end - start))
      done_runs[j]=$((done_runs[j] + to - from))
    done
  done
}

# per_run_ms KEY: the row's mean in ms, empty when it has none.
per_run_ms() {
  local j
  for j in "${!keys[@]}"; do
    if [ "${keys[$j]}" = "$1" ] && [ -z "${notes[$j]}" ] && [ "${done_runs[$j]}" -gt 0 ]; then
      awk -v t="${totals[$j]}" -v n="${done_runs[$j]}" 'BEGIN { printf "%.6f", t / n / 1e6 }'
      return
    fi
  done
}

# Contenders. Each: FUNC probe|run ID.
c_unshare() {
  if [ "$1" = probe ]; then
    "${wrap[@]}" unshare "${unshare_flags[@]}" chroot "$rootfs" "${probe_args[@]}"
  else
    unshare "${unshare_flags[@]}" chroot "$rootfs" /bin/true
  fi
}

# runtime_run ROOT_SUBDIR BUNDLE_STEM MODE ID CMD...: `CMD --root R run -b BUNDLE ID`.
runtime_run() {
  local root=$tmp/state/$1 stem=$2 mode=$3 id=$4
  shift 4
  # The probe (run once, untimed) makes the state root and is guarded by a timeout; timed runs
  # exec the runtime directly, like the unshare row, so no contender pays for extra processes.
  if [ "$mode" = probe ]; then
    mkdir -p "$root"
    "${wrap[@]}" "$@" --root "$root" run -b "$tmp/$stem-probe" "$id"
  else
    "$@" --root "$root" run -b "$tmp/$stem" "$id"
  fi
}
c_berth() { runtime_run berth bundle "$1" "$2" "$berth" runtime; }
c_berth_bare() { runtime_run berth-bare bundle-bare "$1" "$2" "$berth" runtime; }
c_runc() { runtime_run runc bundle "$1" "$2" runc; }
c_crun() { runtime_run crun bundle "$1" "$2" crun; }
c_crun_nocg() { runtime_run crun-nocg bundle "$1" "$2" crun --cgroup-manager=disabled; }

docker_cli=""
c_docker() {
  local args=(/bin/true)
  [ "$1" = probe ] && args=("${probe_args[@]}")
  "${wrap[@]}" "$docker_cli" -H "unix://$tmp/docker/docker.sock" run --rm --network none \
    berth-bench-busybox "${args[@]}"
}

add unshare "unshare ${unshare_flags[*]} chroot (floor)" "$runs" c_unshare

if [ -x "$berth" ]; then
  add berth "berth runtime run" "$runs" c_berth
  if [ "$bare" = 1 ]; then
    add berth-bare "berth runtime run, bare bundle (only /proc)" "$runs" c_berth_bare
  fi
else
  na berth "berth runtime run" "$runs" "$berth is not an executable file (make build)"
fi

for rt in runc crun; do
  if command -v "$rt" >/dev/null; then
    add "$rt" "$rt run ($($rt --version | head -1 | awk '{ print $3 }'))" "$runs" "c_$rt"
  else
    na "$rt" "$rt run" "$runs" "$rt is not installed (scripts/install-deps --bench)"
  fi
done
if command -v crun >/dev/null; then
  add crun-nocg "crun --cgroup-manager=disabled run" "$runs" c_crun_nocg
fi
time_rows

# Runtime state directories that runs left behind (each run must delete its container).
for d in "$tmp"/state/*; do
  [ -d "$d" ] || continue
  left=$(find "$d" -mindepth 1 -maxdepth 1 -name "$tag-*" ! -name "*-probe" | wc -l)
  [ "$left" = 0 ] || log "warning: $left container state dirs left in $(basename "$d")'s root"
done
left_cg=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "$tag-*" 2>/dev/null | wc -l)
[ "$left_cg" = 0 ] || log "warning: $left_cg cgroup dirs named after containers were left behind"

# Docker last, so that its daemon does not run beside the other contenders.
docker_label="docker run --rm --network none"
if [ "$runs_docker" = 0 ]; then
  na docker "$docker_label" 0 "skipped (N_DOCKER=0)"
elif ! command -v dockerd >/dev/null; then
  na docker "$docker_label" "$runs_docker" "dockerd is not installed (scripts/install-deps --bench)"
else
  log "starting a private dockerd"
  if ! dockerd_start "$tmp/docker" "$tag-docker"; then
    na docker "$docker_label" "$runs_docker" "$DOCKERD_ERROR"
  elif ! tar -C "$rootfs" -c . | docker import - berth-bench-busybox >/dev/null 2>"$tmp/err"; then
    na docker "$docker_label" "$runs_docker" "docker import: $(first_error "$tmp/err")"
  else
    info=$(docker info --format '{{.ServerVersion}}, {{.Driver}}, {{.DefaultRuntime}}' 2>/dev/null ||
      echo "?")
    add docker "$docker_label (dockerd $info)" "$runs_docker" c_docker
    time_rows
  fi
  dockerd_stop
fi

# ---------------------------------------------------------------------------------------------
# Report

cgroup_layout=v1
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  cgroup_layout=v2
elif [ -d /sys/fs/cgroup/unified ] && [ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
  cgroup_layout="hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
fi

echo "### berth runtime: create + start + wait + delete of /bin/true"
echo
echo "Command: \`N_DOCKER=$runs_docker bench/runtime.sh $berth $runs\`"
echo
echo "$(uname -sr), $(nproc) CPUs, load average $load_before at start, cgroups $cgroup_layout;" \
  "namespaces: ${namespaces[*]}. $runs runs per row (docker: $runs_docker), interleaved in" \
  "$rounds rounds, timed with date +%s%N around each round's loop."
echo
echo "| contender | total (s) | per run (ms) | ratio to unshare | ratio berth/contender |"
echo "|---|---:|---:|---:|---:|"
unshare_ms=$(per_run_ms unshare)
berth_ms=$(per_run_ms berth)
docker_ms=$(per_run_ms docker)
for i in "${!labels[@]}"; do
  label=${labels[$i]}
  [ "${counts[$i]}" = "$runs" ] || label="$label [${counts[$i]} runs]"
  if [ -n "${notes[$i]}" ]; then
    echo "| $label | ${notes[$i]} | | | |"
    continue
  fi
  awk -v label="$label" -v t="${totals[$i]}" -v n="${done_runs[$i]}" -v u="$unshare_ms" \
    -v b="$berth_ms" 'BEGIN {
      ms = t / n / 1e6
      ru = (u == "") ? "n/a" : sprintf("%.2f", ms / u)
      rb = (b == "") ? "n/a" : sprintf("%.2f", b / ms)
      printf "| %s | %.3f | %.2f | %s | %s |\n", label, t / 1e9, ms, ru, rb
    }'
done
echo
verdict() {  # verdict KIND: PASS/MISS line part for the two targets
  if [ -z "$berth_ms" ]; then echo "untested (no berth row)"; return; fi
  case $1 in
  floor)
    [ -n "$unshare_ms" ] || { echo "untested (no unshare row)"; return; }
    awk -v b="$berth_ms" -v u="$unshare_ms" 'BEGIN {
      r = b / u; printf "%s (%.2f×)", (r <= 1.3) ? "PASS" : "MISS", r }' ;;
  docker)
    [ -n "$docker_ms" ] || { echo "untested (no docker row)"; return; }
    awk -v b="$berth_ms" -v d="$docker_ms" 'BEGIN {
      r = d / b; printf "%s (%.1f× faster)", (r >= 10) ? "PASS" : "MISS", r }' ;;
  esac
}
echo "Targets (issue 2): berth ≤ 1.3× unshare: $(verdict floor);" \
  "berth ≥ 10× faster than docker run: $(verdict docker)."

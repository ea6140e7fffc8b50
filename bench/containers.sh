#!/bin/bash
# containers.sh BERTH_BINARY [N]: the container engine beside Docker (berth run/rm/ps against a
# private dockerd, bench/lib/dockerd.sh), on the same busybox-static rootfs imported into both
# (`berth import` / `docker import`, CMD sh):
#   run --rm    N runs of `run --rm --network none IMAGE true` (default 100; docker: N_DOCKER,
#               default 20, since one takes ~0.5 s), each timed alone: mean, p50, p95. berth's
#               N runs in a row come between two halves of docker's (with 0.5 s for its daemons
#               to settle), so that a steady drift of the machine's speed, ±15 % over minutes on
#               these VMs, cancels out in the ratio
#   detached    BENCH_DETACHED (50) × `run -d --network none IMAGE sleep 1000`, wall time of the
#               loop; then `rm -f` of all of them in one command, wall time
#   memory      with those running: mean VmRSS of berth's monitor processes
#               (`berth monitor ROOT RUNROOT ID`) against Docker's containerd-shim-runc-v2
# and prints a markdown table with the ratio docker/berth and the targets (run --rm >= 15x,
# berth monitor <= 2 MiB). The detached rounds run one tool after the other, berth first. Every
# container, the dockerd, its shims, mounts, cgroups named after this run and the temp dir are
# removed on exit, also on failure or Ctrl-C.
set -euo pipefail

usage() {
  echo "usage: bench/containers.sh BERTH_BINARY [N]   (env: N_DOCKER=20, BENCH_DETACHED=50)" >&2
  exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
berth_bin=$1
runs=${2:-${BENCH_N:-100}}
runs_docker=${N_DOCKER:-20}
detached=${BENCH_DETACHED:-50}
[[ $runs =~ ^[1-9][0-9]*$ && $runs_docker =~ ^[1-9][0-9]*$ && $detached =~ ^[1-9][0-9]*$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/containers.sh: must run as root" >&2; exit 1; }
case $berth_bin in /*) ;; *) berth_bin=$PWD/$berth_bin ;; esac
[ -x "$berth_bin" ] || { echo "bench/containers.sh: $berth_bin is not executable (make build)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=lib/dockerd.sh
. "$here/lib/dockerd.sh"
# shellcheck source=lib/tmpdir.sh
. "$here/lib/tmpdir.sh"

tag=berth-bench-containers-$$ # docker's --cgroup-parent
# Short: berth's per-container sockets live under RUNROOT/runtime/<64-hex id>/, and a socket path
# has at most 107 bytes.
tmp=$(mktemp -d /tmp/bench-ctr.XXXXXX)
broot=$tmp/berth
image=berth-bench-busybox:latest
log() { echo "containers.sh: $*" >&2; }

berth() { "$berth_bin" --root "$broot" --runroot "$tmp/r" "$@"; }
docker_up=0

cleanup() {
  local rc=$? ids pid m
  set +e
  ids=$(berth ps -aq 2>/dev/null)
  # shellcheck disable=SC2086 # one word per id
  [ -n "$ids" ] && berth rm -f $ids >/dev/null 2>&1
  for pid in $(pgrep -f "monitor $broot "); do kill -KILL "$pid" 2>/dev/null; done
  if [ "$docker_up" = 1 ]; then
    ids=$(docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  fi
  dockerd_stop
  for pid in $(shim_pids); do kill -KILL "$pid" 2>/dev/null; done
  remove_tmp_tree "$tmp" containers.sh
  find /sys/fs/cgroup -maxdepth 5 -type d -name "$tag*" 2>/dev/null | sort -r |
    while read -r m; do rmdir "$m" 2>/dev/null; done
  dockerd_forget_host_leftovers
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The containerd-shim-runc-v2 processes of our dockerd (their -address is under the temp dir).
shim_pids() {
  local pid
  for pid in $(pgrep -f containerd-shim-runc-v2); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$tmp/" && echo "$pid"
  done
  return 0
}
monitor_pids() { pgrep -f "monitor $broot " || true; }
# Of the pids on stdin, in MiB (2 decimals): "VMRSS COUNT RSSANON PSS", the means of VmRSS and
# RssAnon (/proc/PID/status) and Pss (smaps_rollup), and how many there were. VmRSS counts the
# binary's pages shared by all of them; RssAnon is what each has to itself; Pss splits the shared.
mean_rss() {
  local pid
  while read -r pid; do
    cat "/proc/$pid/status" "/proc/$pid/smaps_rollup" 2>/dev/null |
      awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^Pss:/ { p = $2 } END { if (r) print r, a, p }'
  done | awk '{ r += $1; a += $2; p += $3; n++ }
    END { m = n ? n * 1024 : 1; printf "%.2f %d %.2f %.2f\n", r / m, n, a / m, p / m }'
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
now_us() { echo "${EPOCHREALTIME/./}"; }
# mean, p50 and p95 (nearest rank) in ms of the microseconds in FILE: "MEAN P50 P95"
stats_ms() {
  sort -n "$1" | awk '{ a[NR] = $1; s += $1 }
    END { p95 = int(NR * 0.95); if (p95 < NR * 0.95) p95++
          printf "%.1f %.1f %.1f", s / NR / 1000, a[int((NR + 1) / 2)] / 1000, a[p95] / 1000 }'
}

# TOOL_FN NAME: checks that the tool runs the image (the container sees itself as PID 1 in
# docker; 2 in berth, whose init, on by default, is PID 1).
probe_run() {
  local out
  out=$("$1" run --rm --network none "$image" sh -c 'echo berth-bench-ok $$' 2>&1) || true
  [[ $out =~ ^berth-bench-ok\ [12]$ ]] || { log "$2 probe printed: ${out:0:200}"; exit 1; }
}

# TOOL_FN NAME: one timed `run --rm` of /bin/true, its microseconds appended to t.NAME.
time_run_rm() {
  local t0 t1
  t0=$(now_us)
  "$1" run --rm --network none "$image" true
  t1=$(now_us)
  echo $((t1 - t0)) >>"$tmp/t.$2"
}

# $runs berth runs in a row, between two halves of $runs_docker docker runs when dockerd is up.
time_run_rm_bracketed() {
  local i half=$((runs_docker / 2))
  : >"$tmp/t.berth"
  : >"$tmp/t.docker"
  if [ "$docker_up" = 1 ]; then
    for ((i = 0; i < half; i++)); do time_run_rm docker docker; done
    sleep 0.5
  fi
  for ((i = 0; i < runs; i++)); do time_run_rm berth berth; done
  if [ "$docker_up" = 1 ]; then
    for ((i = half; i < runs_docker; i++)); do time_run_rm docker docker; done
  fi
}

# TOOL_FN NAME PIDS_FN: starts $detached sleeping containers (wall time to d.NAME), measures the
# RSS of PIDS_FN's processes (rss.NAME), removes them all in one `rm -f` (wall time to r.NAME).
detached_round() {
  local fn=$1 name=$2 pids_fn=$3 i t0 t1 ids=() left
  t0=$(now_us)
  for ((i = 1; i <= detached; i++)); do
    ids+=("$("$fn" run -d --network none "$image" sleep 1000)")
  done
  t1=$(now_us)
  echo $((t1 - t0)) >"$tmp/d.$name"
  sleep 2 # let every monitor / shim settle after its start
  left=$("$fn" ps -q | wc -l)
  [ "$left" = "$detached" ] || { log "$name: $left of $detached containers running"; exit 1; }
  "$pids_fn" | mean_rss >"$tmp/rss.$name"
  t0=$(now_us)
  "$fn" rm -f "${ids[@]}" >/dev/null
  t1=$(now_us)
  echo $((t1 - t0)) >"$tmp/r.$name"
  left=$("$fn" ps -aq | wc -l)
  [ "$left" = 0 ] || { log "$name: $left containers left after rm -f"; exit 1; }
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$repo/scripts/make-rootfs" "$tmp/rootfs"
tar -C "$tmp/rootfs" -c . >"$tmp/rootfs.tar"

log "berth: import; docker: private dockerd, import"
berth import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
probe_run berth berth
docker_note=""
info="n/a"
if dockerd_start "$tmp/docker" "$tag"; then
  docker_up=1
  docker import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
  probe_run docker docker
  info=$(docker info --format '{{.ServerVersion}}, {{.Driver}}, {{.DefaultRuntime}}' 2>/dev/null ||
    echo "?")
else
  docker_note="docker: $DOCKERD_ERROR"
fi

n_docker=0
[ "$docker_up" = 0 ] || n_docker=$runs_docker
log "run --rm: $runs berth runs in a row between two halves of $n_docker docker runs"
time_run_rm_bracketed

log "berth: $detached detached"
detached_round berth berth monitor_pids
left=$(monitor_pids | wc -l)
[ "$left" = 0 ] || log "warning: $left berth monitor processes left after rm -f"

if [ "$docker_up" = 1 ]; then
  log "docker: $detached detached"
  # The shims, and (for the note) dockerd and containerd, which serve every container; berth has
  # no daemon. Runs in a pipeline's subshell, hence the file.
  docker_pids() {
    printf 'dockerd %s MiB, containerd %s MiB' "$(rss_mib "$dockerd_pid")" \
      "$(rss_mib "$(cat "$tmp/docker/exec/containerd/containerd.pid" 2>/dev/null)")" >"$tmp/daemons"
    shim_pids
  }
  detached_round docker docker docker_pids
  dockerd_stop
  docker_up=0
fi

# ---------------------------------------------------------------------------------------------
# Report

echo "### Containers: berth run/rm beside Docker, busybox-static image"
echo
echo "Command: \`N_DOCKER=$runs_docker BENCH_DETACHED=$detached bench/containers.sh $berth_bin $runs\`"
echo
echo "$(uname -sr), $(nproc) CPUs, load average $load_before at start; dockerd $info." \
  "\`run --rm\`: berth $runs runs in a row between two halves of docker's $runs_docker, each timed alone."
echo
echo "| operation | berth | docker | docker / berth | target | result |"
echo "|---|---:|---:|---:|---:|---|"
ratio() { awk -v b="$1" -v d="$2" 'BEGIN { if (b > 0 && d != "") printf "%.1fx", d / b; else print "n/a" }'; }
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN { print ((op == ">=" ? x >= t : x <= t) ? "PASS" : "MISS") }'; }
read -r b_mean b_p50 b_p95 <<<"$(stats_ms "$tmp/t.berth")"
d_mean="" d_p50="" d_p95="" d_det="" d_rm="" d_rss="" d_n=0 d_anon="" d_pss=""
if [ -z "$docker_note" ]; then
  read -r d_mean d_p50 d_p95 <<<"$(stats_ms "$tmp/t.docker")"
  d_det=$(awk '{ printf "%.2f", $1 / 1e6 }' "$tmp/d.docker")
  d_rm=$(awk '{ printf "%.2f", $1 / 1e6 }' "$tmp/r.docker")
  read -r d_rss d_n d_anon d_pss <"$tmp/rss.docker"
fi
b_det=$(awk '{ printf "%.2f", $1 / 1e6 }' "$tmp/d.berth")
b_rm=$(awk '{ printf "%.2f", $1 / 1e6 }' "$tmp/r.berth")
read -r b_rss b_n b_anon b_pss <"$tmp/rss.berth"
r=$(ratio "$b_mean" "$d_mean")
v=n/a
[ "$r" = n/a ] || v=$(verdict "${r%x}" ">=" 15)
echo "| \`run --rm IMAGE true\`, mean (ms) | $b_mean | ${d_mean:-n/a} | $r | ≥ 15x | $v |"
echo "| \`run --rm IMAGE true\`, p50 (ms) | $b_p50 | ${d_p50:-n/a} | $(ratio "$b_p50" "$d_p50") | | |"
echo "| \`run --rm IMAGE true\`, p95 (ms) | $b_p95 | ${d_p95:-n/a} | $(ratio "$b_p95" "$d_p95") | | |"
echo "| start $detached × \`run -d IMAGE sleep 1000\` (s) | $b_det | ${d_det:-n/a} | $(ratio "$b_det" "$d_det") | | |"
echo "| \`rm -f\` of the $detached at once (s) | $b_rm | ${d_rm:-n/a} | $(ratio "$b_rm" "$d_rm") | | |"
echo "| RSS per container: berth monitor / containerd-shim (MiB) | $b_rss | ${d_rss:-n/a} |" \
  "$(ratio "$b_rss" "$d_rss") | berth ≤ 2 MiB | $(verdict "$b_rss" "<=" 2) |"
echo
echo "RSS: mean VmRSS of $b_n berth monitors and $d_n containerd-shim-runc-v2 processes, with the" \
  "$detached containers running (RssAnon: berth $b_anon, docker ${d_anon:-n/a} MiB; Pss: berth" \
  "$b_pss, docker ${d_pss:-n/a} MiB).$([ -s "$tmp/daemons" ] && echo " Docker's daemons on top, shared by all: $(cat "$tmp/daemons").")"
[ -z "$docker_note" ] || echo "$docker_note"

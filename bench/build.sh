#!/bin/bash
# build.sh BERTH_BINARY: `berth build` beside `docker build` (a private dockerd, bench/lib/dockerd.sh,
# with the legacy builder, DOCKER_BUILDKIT=0, and BuildKit, DOCKER_BUILDKIT=1, when the client and
# daemon have it) on the same Dockerfile and context: bench/build/ (a multi-stage Dockerfile: stage 1
# makes ~6 MB of files in 6 RUN steps among COPY/ENV/WORKDIR/ARG, stage 2 COPY --from it, USER,
# HEALTHCHECK, CMD; a .dockerignore) plus ~200 small files under src/ and ignored files this script
# generates, FROM a local base image (busybox-static, scripts/make-rootfs, imported into both as
# berth-bench-busybox:latest with CMD sh). Measured, each the median of BENCH_RUNS (3) runs timed
# alone with `date +%s%N`, output to /dev/null (-q):
#   cold     `build --no-cache -q -t OUT CTX` on an empty build cache: berth in a fresh --root (the
#            base image imported, untimed) each run; docker after `rmi OUT`, `image prune -f` and
#            `builder prune -af` (untimed)
#   cached   `build -q -t OUT CTX` run twice in a row after the cold build, the second one timed
#   floor    `/bin/true` timed the same way: what a fork/exec costs on the machine at the time
# and prints a markdown table with the ratio docker/berth and the targets (issue 6 item 8: cold at
# most half of Docker's time, i.e. docker/berth >= 2x; a fully cached rebuild under 50 ms). The
# images are checked to be the same: `run --rm --network none OUT` prints the md5sum of a manifest
# of every generated file (and of the context as COPY saw it), equal in all builders.
# RUN steps use the default network in all builders, i.e. a bridge and a veth per RUN container:
# the script re-executes itself in a network namespace of its own (scripts/in-netns), so berth's
# default bridge and dockerd's (DOCKERD_NETWORK=1) and their nftables/iptables rules live there and
# are deleted with it; no RUN step sends any traffic. berth goes first; dockerd is started only
# after berth's rows. Every container, image, the dockerd, its shims, mounts, cgroups named after
# this run and the temp dir are removed on exit, also on failure or Ctrl-C.
set -euo pipefail

usage() {
  echo "usage: bench/build.sh BERTH_BINARY   (env: BENCH_RUNS=3)" >&2
  exit 2
}
if [ $# -ne 1 ]; then usage; fi
berth_bin=$1
runs=${BENCH_RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: must run as root" >&2; exit 1; }
case $berth_bin in /*) ;; *) berth_bin=$PWD/$berth_bin ;; esac
[ -x "$berth_bin" ] || { echo "bench/build.sh: $berth_bin is not executable (make build)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${BERTH_TEST_NETNS:-}" ]; then exec "$repo/scripts/in-netns" "$here/build.sh" "$berth_bin"; fi
# shellcheck source=lib/dockerd.sh
. "$here/lib/dockerd.sh"
# shellcheck source=lib/tmpdir.sh
. "$here/lib/tmpdir.sh"

tag=berth-bench-build-$$ # docker's --cgroup-parent
# Short: berth's per-container sockets live under RUNROOT/runtime/<64-hex id>/ (at most 107 bytes).
tmp=$(mktemp -d /tmp/bench-bld.XXXXXX)
image=berth-bench-busybox:latest
out=berth-bench-build:latest
ctx=$tmp/ctx
log() { echo "build.sh: $*" >&2; }

# berth's root and runroot: a fresh pair for every cold run (set by berth_fresh_root).
broot=$tmp/b0
brun=$tmp/r0
berth() { "$berth_bin" --root "$broot" --runroot "$brun" "$@"; }
docker_up=0

# Processes of this network namespace whose command line names the temp dir (berth's monitors,
# docker's shims): nothing else of ours runs here.
leftover_pids() {
  local pid self
  self=$(readlink /proc/self/ns/net)
  for pid in $(pgrep -f "$tmp/"); do
    [ "$pid" != $$ ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$self" ] && echo "$pid"
  done
  return 0
}

cleanup() {
  local rc=$? ids pid m r
  set +e
  for r in "$tmp"/b[0-9]*; do
    [ -d "$r" ] || continue
    broot=$r brun=$tmp/r${r##*/b}
    ids=$(berth ps -aq 2>/dev/null)
    # shellcheck disable=SC2086 # one word per id
    [ -n "$ids" ] && berth rm -f $ids >/dev/null 2>&1
  done
  if [ "$docker_up" = 1 ]; then
    ids=$(docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  fi
  dockerd_stop
  for pid in $(leftover_pids); do kill -KILL "$pid" 2>/dev/null; done
  remove_tmp_tree "$tmp" build.sh
  # dockerd's --cgroup-parent and what is under it (BuildKit makes a "buildkit" child), deepest first.
  find /sys/fs/cgroup -maxdepth 6 -depth -type d \( -path "*/$tag" -o -path "*/$tag/*" \) 2>/dev/null |
    while read -r m; do rmdir "$m" 2>/dev/null; done
  dockerd_forget_host_leftovers
  exit "$rc" # scripts/in-netns then deletes the namespace with what is left in it
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }
# FILE of nanosecond figures, one a line: their median in ms (1 decimal).
median_ms() { sort -n "$1" | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1e6 }'; }
# NAME CMD...: runs CMD (output to /dev/null, shown on failure) and appends its wall time in ns to
# $tmp/t.NAME.
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now_ns)
  if ! "$@" >"$tmp/out" 2>&1; then
    log "$name: '$*' failed:"
    tail -30 "$tmp/out" >&2
    exit 1
  fi
  t1=$(now_ns)
  echo $((t1 - t0)) >>"$tmp/t.$name"
}

# The context: bench/build/ plus 200 small files under src/ (10 directories of 20) and files the
# .dockerignore keeps out (logs, backups, *.tmp, a 16 MiB scratch/ file), all the same every run.
make_context() {
  local d f
  cp -a "$here/build" "$ctx"
  for ((d = 0; d < 10; d++)); do
    mkdir -p "$ctx/src/mod$d"
    for ((f = 0; f < 20; f++)); do
      printf 'module %d file %d\nexport const value_%d_%d = %d;\n' "$d" "$f" "$d" "$f" $((d * 100 + f)) \
        >"$ctx/src/mod$d/file$f.js"
    done
    echo "debug log of module $d" >"$ctx/src/mod$d/debug.log"
    echo "old copy $d" >"$ctx/src/mod$d/file0.js.bak"
    echo "temporary $d" >"$ctx/src/mod$d/build.tmp"
  done
  echo "this log is kept (negated in .dockerignore)" >"$ctx/src/keep.log"
  mkdir -p "$ctx/scratch"
  head -c 16777216 /dev/zero >"$ctx/scratch/big.bin"
}

# TOOL_FN NAME PREPARE_FN EXTRA_ENV: $runs rounds of PREPARE_FN (untimed, empties the cache), a cold
# build (t.NAME-cold), an untimed cached build and a timed one (t.NAME-cached).
build_rounds() {
  local fn=$1 name=$2 prepare=$3 i
  : >"$tmp/t.$name-cold"
  : >"$tmp/t.$name-cached"
  for ((i = 1; i <= runs; i++)); do
    "$prepare" "$i"
    timed "$name-cold" "$fn" build --no-cache -q -t "$out" "$ctx"
    timed "$name-warm" "$fn" build -q -t "$out" "$ctx"
    timed "$name-cached" "$fn" build -q -t "$out" "$ctx"
    log "$name round $i: cold $(tail -1 "$tmp/t.$name-cold" | awk '{ printf "%.0f", $1 / 1e6 }') ms," \
      "cached $(tail -1 "$tmp/t.$name-cached" | awk '{ printf "%.1f", $1 / 1e6 }') ms"
  done
}

# TOOL_FN NAME: the md5sum the built image prints (its manifest of generated and copied files) to
# sum.NAME, and its User and Healthcheck test to cfg.NAME.
check_image() {
  local fn=$1 name=$2
  "$fn" run --rm --network none "$out" >"$tmp/sum.$name" 2>&1 ||
    { log "$name: running $out failed: $(head -c 300 "$tmp/sum.$name")"; exit 1; }
  "$fn" image inspect -f '{{.Config.User}} {{json .Config.Healthcheck.Test}}' "$out" >"$tmp/cfg.$name"
}

berth_fresh_root() {
  broot=$tmp/b$1
  brun=$tmp/r$1
  berth import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
}
docker_empty_cache() {
  docker rmi -f "$out" >/dev/null 2>&1 || true
  docker image prune -f >/dev/null
  docker builder prune -af >/dev/null
}
docker_legacy() { DOCKER_BUILDKIT=0 docker "$@"; }
docker_buildkit() { DOCKER_BUILDKIT=1 docker "$@"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$repo/scripts/make-rootfs" "$tmp/rootfs"
tar -C "$tmp/rootfs" -c . >"$tmp/rootfs.tar"
make_context
files=$(find "$ctx" -type f | wc -l)

# The floor under these timings on this machine now: `/bin/true` timed the same way.
: >"$tmp/t.floor"
for ((i = 1; i <= runs; i++)); do timed floor /bin/true; done

log "berth: $runs × (fresh root, cold build, cached build × 2)"
build_rounds berth berth berth_fresh_root
check_image berth berth

log "docker: private dockerd with its bridge, import, legacy builder and BuildKit"
docker_note=""
bk_note=""
if DOCKERD_NETWORK=1 dockerd_start "$tmp/docker" "$tag"; then
  docker_up=1
  docker import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
  build_rounds docker_legacy legacy docker_empty_cache
  check_image docker legacy
  docker_empty_cache
  # BuildKit: Debian's docker client (20.10) speaks it to the daemon without buildx.
  mkdir -p "$tmp/probe"
  printf 'FROM %s\nCMD ["true"]\n' "$image" >"$tmp/probe/Dockerfile"
  if docker_buildkit build -q -t berth-bench-probe:latest "$tmp/probe" >"$tmp/bk-probe" 2>&1; then
    docker rmi -f berth-bench-probe:latest >/dev/null
    build_rounds docker_buildkit buildkit docker_empty_cache
    check_image docker buildkit
  else
    bk_note="BuildKit: no rows, \`DOCKER_BUILDKIT=1 docker build\` failed: $(head -c 160 "$tmp/bk-probe" | tr '\n' ' ')"
  fi
  info="$(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null ||
    echo "?"), $(docker info --format '{{.Driver}}' 2>/dev/null || echo "?")"
  dockerd_stop
  docker_up=0
else
  docker_note="docker: no rows, $DOCKERD_ERROR"
  info="n/a"
fi

# ---------------------------------------------------------------------------------------------
# Report

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "### Build: \`berth build\` beside \`docker build\`, multi-stage Dockerfile on a local busybox-static base"
echo
echo "Command: \`BENCH_RUNS=$runs bench/build.sh $berth_bin\`"
echo
echo "$(uname -sr), $(nproc) CPUs, load average $load_before at start, $load_after at the end; docker $info." \
  "Dockerfile bench/build/Dockerfile (2 stages, 6 RUN, 4 COPY), context of $files files" \
  "(~16 MiB of them ignored by .dockerignore). Each figure the median of $runs runs; cold:" \
  "\`--no-cache\`, berth in a fresh --root, docker after \`image prune\` + \`builder prune -af\`;" \
  "cached: the second of two builds in a row. RUN steps on each builder's default bridge, inside" \
  "a network namespace of the script's own."
echo
echo "| build | berth (ms) | docker (ms) | docker / berth | target | result |"
echo "|---|---:|---:|---:|---:|---|"
ratio() { awk -v b="$1" -v d="$2" 'BEGIN { if (b > 0 && d != "") printf "%.1fx", d / b; else print "n/a" }'; }
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN { if (x == "n/a" || x == "") print "n/a"; else print ((op == ">=" ? x >= t : x < t) ? "PASS" : "MISS") }'; }
b_cold=$(median_ms "$tmp/t.berth-cold")
b_cached=$(median_ms "$tmp/t.berth-cached")
for b in legacy buildkit; do
  label="legacy builder (DOCKER_BUILDKIT=0)"
  [ "$b" = legacy ] || label="BuildKit (DOCKER_BUILDKIT=1)"
  d_cold="" d_cached=""
  if [ -s "$tmp/t.$b-cold" ]; then
    d_cold=$(median_ms "$tmp/t.$b-cold")
    d_cached=$(median_ms "$tmp/t.$b-cached")
  fi
  r=$(ratio "$b_cold" "$d_cold")
  echo "| cold, vs $label | $b_cold | ${d_cold:-n/a} | $r | ≥ 2x | $(verdict "${r%x}" ">=" 2) |"
  echo "| fully cached rebuild, vs $label | $b_cached | ${d_cached:-n/a} |" \
    "$(ratio "$b_cached" "$d_cached") | berth < 50 ms | $(verdict "$b_cached" "<" 50) |"
done
echo "| \`/bin/true\` timed the same way (the floor) | $(median_ms "$tmp/t.floor") | | | | |"
echo
same="the same"
for b in legacy buildkit; do
  [ -s "$tmp/sum.$b" ] || continue
  if ! cmp -s "$tmp/sum.berth" "$tmp/sum.$b" || ! cmp -s "$tmp/cfg.berth" "$tmp/cfg.$b"; then
    same="NOT the same ($b: $(cat "$tmp/sum.$b" "$tmp/cfg.$b" | tr '\n' ' '))"
  fi
done
echo "Images: \`run --rm --network none OUT\` printed $(awk '{ print $1 }' "$tmp/sum.berth") and" \
  "User/Healthcheck $(cat "$tmp/cfg.berth") for berth; docker's are $same."
[ -z "$docker_note" ] || echo "$docker_note"
[ -z "$bk_note" ] || echo "$bk_note"

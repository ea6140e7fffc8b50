#!/bin/bash
# images.sh BERTH_BINARY [N]: the image benchmark of issue 3.
#
# The same ~200 MB Debian 12 image (scripts/make-debian-rootfs, imported by berth, pushed to a
# local docker-registry and pulled by Docker from there, so both hold identical layers), timed N
# times each (default 5, interleaved berth/docker), median reported:
#   load          `berth load` of a `berth save` archive into a fresh store, against
#                 `docker load` of a `docker save` archive after `docker rmi` of the image
#   pull          from the local registry into a fresh store / after `docker rmi`
#   first start   from the pulled image to a finished /bin/true: `berth image mount` +
#                 `berth runtime run` + unmount, against `docker run --rm --network none`
# and prints a markdown table with the ratio docker/berth and the issue's target (2x). Each timed
# step starts after `sync`, so neither side pays for the other's write-back.
# Everything is made under one temp dir and removed, with the private dockerd and registry.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bench/images.sh BERTH_BINARY [N]" >&2
  exit 2
fi
berth_bin=$1
runs=${2:-${BENCH_IMAGE_N:-5}}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "images.sh: N must be a positive number" >&2; exit 2; }
case $berth_bin in /*) ;; *) berth_bin=$PWD/$berth_bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=lib/dockerd.sh
. "$here/lib/dockerd.sh"

tmp=$(mktemp -d /tmp/berth-bench-images.XXXXXX)
registry_pid=""
log() { echo "images.sh: $*" >&2; }

cleanup() {
  local rc=$? m
  set +e
  dockerd_stop
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  awk -v t="$tmp" 'index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
  dockerd_forget_host_leftovers
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

berth() { "$berth_bin" --root "$broot" --runroot "$tmp/run" "$@"; }
now() { date +%s%N; }
# Every timed step starts with no dirty pages of the previous one still being written back.
settle() { sync; sleep 1; }
# median of the numbers (nanoseconds) on stdin, printed in seconds with 2 decimals
median_s() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1e9}'; }

debian_tar=$("$repo/scripts/make-debian-rootfs")
size_mb=$(( $(stat -c %s "$debian_tar") / 1000000 ))

# A local registry on a free loopback port.
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  mkdir -p "$tmp/registry"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$tmp/registry/data" "$port" >"$tmp/registry/config.yml"
  docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry/log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break 2; sleep 0.1; done
  kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null; registry_pid=""
done
[ -n "$registry_pid" ] || { log "docker-registry did not start"; exit 1; }
image=127.0.0.1:$port/bench/debian:12

log "preparing: import ${size_mb} MB Debian rootfs, push to $image"
broot=$tmp/prep
berth import "$debian_tar" "$image" >/dev/null
berth push -q "$image" >/dev/null
berth save -o "$tmp/berth.tar" "$image"

dockerd_start "$tmp/docker" "berth-bench-images-$$" || { log "$DOCKERD_ERROR"; exit 1; }
docker pull -q "$image" >/dev/null
docker save -o "$tmp/docker.tar" "$image"
docker_reset() { docker rmi -f "$image" >/dev/null 2>&1 || true; docker image prune -f >/dev/null 2>&1 || true; }

: >"$tmp/t.berth_load"; : >"$tmp/t.docker_load"; : >"$tmp/t.berth_pull"; : >"$tmp/t.docker_pull"
: >"$tmp/t.berth_start"; : >"$tmp/t.docker_start"
bundle=$tmp/bundle
mkdir -p "$bundle"
(cd "$bundle" && "$berth_bin" runtime spec)
for ((i = 1; i <= runs; i++)); do
  log "round $i/$runs"
  broot=$tmp/load-$i
  settle
  t0=$(now); berth load -q -i "$tmp/berth.tar" >/dev/null; t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.berth_load"
  rm -rf "$broot"
  docker_reset
  settle
  t0=$(now); docker load -q -i "$tmp/docker.tar" >/dev/null; t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.docker_load"

  broot=$tmp/pull-$i
  settle
  t0=$(now); berth pull -q "$image" >/dev/null; t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.berth_pull"
  settle
  t0=$(now)
  rootfs=$(berth image mount "$image")
  jq --arg r "$rootfs" '.root.path = $r | .process.terminal = false | .process.args = ["/bin/true"]' \
    "$bundle/config.json" >"$bundle/c.json"
  mv "$bundle/c.json" "$bundle/config.json"
  "$berth_bin" runtime --root "$tmp/rt" run -b "$bundle" "bench-$i" </dev/null
  berth image unmount "$image"
  t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.berth_start"
  rm -rf "$broot"

  docker_reset
  settle
  t0=$(now); docker pull -q "$image" >/dev/null; t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.docker_pull"
  settle
  t0=$(now); docker run --rm --network none "$image" /bin/true; t1=$(now)
  echo $((t1 - t0)) >>"$tmp/t.docker_start"
done

info=$(docker info --format '{{.ServerVersion}}, {{.Driver}}' 2>/dev/null || echo "?")
echo "### Images: ${size_mb} MB Debian 12 image, median of $runs runs (dockerd $info)"
echo
echo "| operation | berth (s) | docker (s) | docker / berth | target | result |"
echo "|---|---:|---:|---:|---:|---|"
row() {
  local name=$1 b d ratio verdict
  b=$(median_s <"$tmp/t.berth_$2"); d=$(median_s <"$tmp/t.docker_$2")
  ratio=$(awk -v b="$b" -v d="$d" 'BEGIN { printf "%.1f", (b > 0 ? d / b : 0) }')
  verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 2.0 ? "PASS" : "MISS") }')
  echo "| $name | $b | $d | ${ratio}x | 2x | $verdict |"
}
row "load (fresh store)" load
row "pull (local registry)" pull
row "first start after pull" start
paste "$tmp/t.berth_pull" "$tmp/t.berth_start" | awk '{print $1 + $2}' >"$tmp/t.berth_total"
paste "$tmp/t.docker_pull" "$tmp/t.docker_start" | awk '{print $1 + $2}' >"$tmp/t.docker_total"
row "pull + first start" total

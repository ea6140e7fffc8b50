#!/bin/bash
# networks.sh BERTH_BINARY: berth's networking beside Docker's (a private dockerd with its bridge,
# iptables and docker-proxy on, bench/lib/dockerd.sh with DOCKERD_NETWORK=1), on the same
# busybox-static rootfs imported into both (`berth import` / `docker import`, CMD sh), with a
# busybox httpd serving a 100-byte /www/index.html (`httpd -f -p 80 -h /www`):
#   throughput  `wrk -t2 -c32 -d10s --latency` (BENCH_DURATION) against the httpd, requests/s and
#               p99 latency: through a port published on 127.0.0.1 (berth: nftables DNAT; docker:
#               its docker-proxy) and straight to the container's IP on the bridge
#   setup       `network create` of one network and BENCH_CONTAINERS (50) ×
#               `run -d --network NET IMAGE sleep 1000`, wall time; then `rm -f` of them all in
#               one command and `network rm`, wall time
# and prints a markdown table with the ratios and the targets (berth published / direct >= 0.90,
# berth published / docker published >= 1.0, setup docker / berth >= 5x). The script re-executes
# itself in a network namespace of its own (scripts/in-netns): every bridge, veth, nftables and
# iptables rule and all the traffic stay in it, and it is deleted at the end. berth goes first;
# dockerd is started only after berth's rows. Every container, network, the dockerd, its shims and
# proxies, mounts, cgroups named after this run and the temp dir are removed on exit, also on
# failure or Ctrl-C.
set -euo pipefail

usage() {
  echo "usage: bench/networks.sh BERTH_BINARY   (env: BENCH_DURATION=10s, BENCH_CONTAINERS=50)" >&2
  exit 2
}
if [ $# -ne 1 ]; then usage; fi
berth_bin=$1
duration=${BENCH_DURATION:-10s}
count=${BENCH_CONTAINERS:-50}
[[ $duration =~ ^[1-9][0-9]*[smh]?$ && $count =~ ^[1-9][0-9]*$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/networks.sh: must run as root" >&2; exit 1; }
case $berth_bin in /*) ;; *) berth_bin=$PWD/$berth_bin ;; esac
[ -x "$berth_bin" ] || { echo "bench/networks.sh: $berth_bin is not executable (make build)" >&2; exit 1; }
command -v wrk >/dev/null ||
  { echo "bench/networks.sh: wrk is not installed (scripts/install-deps --bench)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${BERTH_TEST_NETNS:-}" ]; then exec "$repo/scripts/in-netns" "$here/networks.sh" "$berth_bin"; fi
# shellcheck source=lib/dockerd.sh
. "$here/lib/dockerd.sh"
# shellcheck source=lib/tmpdir.sh
. "$here/lib/tmpdir.sh"

tag=berth-bench-networks-$$ # docker's --cgroup-parent
# Short: berth's per-container sockets live under RUNROOT/runtime/<64-hex id>/ (at most 107 bytes).
tmp=$(mktemp -d /tmp/bench-net.XXXXXX)
broot=$tmp/berth
image=berth-bench-busybox:latest
net=berth-bench-net
port_berth=18080
port_docker=18081
log() { echo "networks.sh: $*" >&2; }

berth() { "$berth_bin" --root "$broot" --runroot "$tmp/r" "$@"; }
docker_up=0

# Processes of this network namespace whose command line names the temp dir (berth's monitors and
# DNS servers, docker's shims) or that are docker-proxy: nothing else runs here.
leftover_pids() {
  local pid self
  self=$(readlink /proc/self/ns/net)
  for pid in $(pgrep -f "$tmp/") $(pgrep -x docker-proxy); do
    [ "$pid" != $$ ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$self" ] && echo "$pid"
  done
  return 0
}

cleanup() {
  local rc=$? ids pid m
  set +e
  ids=$(berth ps -aq 2>/dev/null)
  # shellcheck disable=SC2086 # one word per id
  [ -n "$ids" ] && berth rm -f $ids >/dev/null 2>&1
  berth network rm "$net" >/dev/null 2>&1
  if [ "$docker_up" = 1 ]; then
    ids=$(docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    docker network rm "$net" >/dev/null 2>&1
  fi
  dockerd_stop
  for pid in $(leftover_pids); do kill -KILL "$pid" 2>/dev/null; done
  remove_tmp_tree "$tmp" networks.sh
  find /sys/fs/cgroup -maxdepth 5 -type d -name "$tag*" 2>/dev/null | sort -r |
    while read -r m; do rmdir "$m" 2>/dev/null; done
  dockerd_forget_host_leftovers
  exit "$rc" # scripts/in-netns then deletes the namespace with what is left in it
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_us() { echo "${EPOCHREALTIME/./}"; }
# HOST PORT: whether the httpd there answers with the 100-byte page (bash's /dev/tcp: busybox's
# static wget crashes on name lookups).
http_ok() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
    _ "$1" "$2" 2>/dev/null | tr -d '\r' | grep -qix 'content-length: 100'
}
# NAME HOST PORT: waits up to 10 s for the httpd, a 1 s warm-up, then wrk for $duration; writes
# "REQ_PER_S P99_MS ERRORS" to w.NAME.
run_wrk() {
  local name=$1 url="http://$2:$3/" i
  for ((i = 0; i < 100; i++)); do
    if http_ok "$2" "$3"; then break; fi
    [ "$i" -lt 99 ] || { log "$url did not answer with the page in 10 s"; exit 1; }
    sleep 0.1
  done
  wrk -t2 -c32 -d1s "$url" >/dev/null
  wrk -t2 -c32 -d"$duration" --latency "$url" >"$tmp/wrk.$name"
  awk '/^Requests\/sec:/ { r = $2 }
    $1 == "99%" { v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                  p = v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }
    /^  Socket errors:/ { sub(/^  Socket errors: /, ""); e = $0 }
    /^  Non-2xx/ { e = e (e ? "; " : "") $NF " non-2xx" }
    END { if (r == "") exit 1; printf "%s %.2f %s\n", r, p, (e ? e : "none") }' \
    "$tmp/wrk.$name" >"$tmp/w.$name" || { log "$name: no figures in wrk's output"; cat "$tmp/wrk.$name" >&2; exit 1; }
  log "$name: $(cat "$tmp/w.$name")"
}

# TOOL_FN NAME: `network create` + $count × `run -d --network` (wall time to s.NAME), then one
# `rm -f` of them all + `network rm` (wall time to r.NAME).
setup_round() {
  local fn=$1 name=$2 i t0 t1 ids=() left
  t0=$(now_us)
  "$fn" network create "$net" >/dev/null
  for ((i = 1; i <= count; i++)); do
    ids+=("$("$fn" run -d --network "$net" "$image" sleep 1000)")
  done
  t1=$(now_us)
  echo $((t1 - t0)) >"$tmp/s.$name"
  left=$("$fn" ps -q | wc -l)
  [ "$left" = "$count" ] || { log "$name: $left of $count containers running"; exit 1; }
  t0=$(now_us)
  "$fn" rm -f "${ids[@]}" >/dev/null
  "$fn" network rm "$net" >/dev/null
  t1=$(now_us)
  echo $((t1 - t0)) >"$tmp/r.$name"
  left=$("$fn" ps -aq | wc -l)
  [ "$left" = 0 ] || { log "$name: $left containers left after rm -f"; exit 1; }
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$repo/scripts/make-rootfs" "$tmp/rootfs"
mkdir -p "$tmp/rootfs/www"
printf '%-99s\n' 'berth networks benchmark: a static page of 100 bytes' >"$tmp/rootfs/www/index.html"
tar -C "$tmp/rootfs" -c . >"$tmp/rootfs.tar"

log "berth: import, httpd published on 127.0.0.1:$port_berth, wrk $duration × 2, setup of $count"
berth import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
id=$(berth run -d -p "127.0.0.1:$port_berth:80" "$image" httpd -f -p 80 -h /www)
ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' "$id")
[[ $ip =~ ^[0-9.]+$ ]] || { log "berth inspect gave no IP address: '$ip'"; exit 1; }
run_wrk berth-pub 127.0.0.1 "$port_berth"
run_wrk berth-dir "$ip" 80
berth rm -f "$id" >/dev/null
setup_round berth berth

log "docker: private dockerd with bridge and iptables, import, the same rounds"
docker_note=""
docker_proxy="?"
if DOCKERD_NETWORK=1 dockerd_start "$tmp/docker" "$tag"; then
  docker_up=1
  if ! iptables -t nat -S DOCKER >/dev/null 2>&1 || ! iptables -t filter -S DOCKER-USER >/dev/null 2>&1; then
    docker_note="docker: no rows, its iptables chains (nat DOCKER, filter DOCKER-USER) are missing in the namespace: $(grep -m1 -i iptables "$tmp/docker/log" | cut -c1-160)"
  else
    docker import -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$image" >/dev/null
    id=$(docker run -d -p "127.0.0.1:$port_docker:80" "$image" httpd -f -p 80 -h /www)
    ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$id")
    [[ $ip =~ ^[0-9.]+$ ]] || { log "docker inspect gave no IP address: '$ip'"; exit 1; }
    docker_proxy=$(pgrep -x docker-proxy | wc -l)
    run_wrk docker-pub 127.0.0.1 "$port_docker"
    run_wrk docker-dir "$ip" 80
    docker rm -f "$id" >/dev/null
    setup_round docker docker
  fi
  info=$(docker info --format '{{.ServerVersion}}, {{.Driver}}, {{.DefaultRuntime}}' 2>/dev/null ||
    echo "?")
  dockerd_stop
  docker_up=0
else
  docker_note="docker: no rows, $DOCKERD_ERROR"
  info="n/a"
fi

# ---------------------------------------------------------------------------------------------
# Report

echo "### Networks: berth published ports and network setup beside Docker, busybox-static image"
echo
echo "Command: \`BENCH_DURATION=$duration BENCH_CONTAINERS=$count bench/networks.sh $berth_bin\`"
echo
echo "$(uname -sr), $(nproc) CPUs, load average $load_before at start; dockerd $info; wrk" \
  "$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'). In a network namespace of its own: \`wrk -t2 -c32" \
  "-d$duration --latency\` against busybox \`httpd -f -p 80 -h /www\` (100-byte index.html, one" \
  "fork per connection), after a 1 s warm-up; published means \`-p 127.0.0.1:PORT:80\` reached on" \
  "127.0.0.1 (docker: through its docker-proxy, $docker_proxy running), direct means the" \
  "container's bridge IP, port 80."
echo
echo "| measurement | berth | docker | ratio | target | result |"
echo "|---|---:|---:|---:|---:|---|"
ratio() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { if (a != "" && b > 0) printf "%.2f%s", a / b, s; else print "n/a" }'; }
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN { if (x == "n/a") print "n/a"; else print ((op == ">=" ? x >= t : x <= t) ? "PASS" : "MISS") }'; }
secs() { awk '{ printf "%.2f", $1 / 1e6 }' "$1"; }
read -r b_pub b_pub99 b_pub_err <"$tmp/w.berth-pub"
read -r b_dir b_dir99 b_dir_err <"$tmp/w.berth-dir"
b_set=$(secs "$tmp/s.berth")
b_rm=$(secs "$tmp/r.berth")
d_pub="" d_pub99="" d_pub_err="n/a" d_dir="" d_dir99="" d_dir_err="n/a" d_set="" d_rm=""
if [ -z "$docker_note" ]; then
  read -r d_pub d_pub99 d_pub_err <"$tmp/w.docker-pub"
  read -r d_dir d_dir99 d_dir_err <"$tmp/w.docker-dir"
  d_set=$(secs "$tmp/s.docker")
  d_rm=$(secs "$tmp/r.docker")
fi
r=$(ratio "$b_pub" "$d_pub" "")
echo "| requests/s, published on 127.0.0.1 | $b_pub | ${d_pub:-n/a} | berth / docker: $r | ≥ 1.0 |" \
  "$(verdict "$r" ">=" 1.0) |"
echo "| requests/s, container IP direct | $b_dir | ${d_dir:-n/a} | berth / docker:" \
  "$(ratio "$b_dir" "$d_dir" "") | | |"
r=$(ratio "$b_pub" "$b_dir" "")
echo "| published / direct, requests/s | $r | $(ratio "$d_pub" "$d_dir" "") | | berth ≥ 0.90 |" \
  "$(verdict "$r" ">=" 0.90) |"
echo "| p99 latency, published (ms) | $b_pub99 | ${d_pub99:-n/a} | docker / berth:" \
  "$(ratio "$d_pub99" "$b_pub99" "x") | | |"
echo "| p99 latency, container IP direct (ms) | $b_dir99 | ${d_dir99:-n/a} | docker / berth:" \
  "$(ratio "$d_dir99" "$b_dir99" "x") | | |"
r=$(ratio "$d_set" "$b_set" "x")
echo "| \`network create\` + $count × \`run -d --network NET IMAGE sleep 1000\` (s) | $b_set |" \
  "${d_set:-n/a} | docker / berth: $r | ≥ 5x | $(verdict "${r%x}" ">=" 5) |"
echo "| \`rm -f\` of the $count at once + \`network rm\` (s) | $b_rm | ${d_rm:-n/a} | docker / berth:" \
  "$(ratio "$d_rm" "$b_rm" "x") | | |"
echo
echo "wrk socket errors (connect/read/write/timeout): berth published $b_pub_err, direct $b_dir_err;" \
  "docker published $d_pub_err, direct $d_dir_err."
[ -z "$docker_note" ] || echo "$docker_note"

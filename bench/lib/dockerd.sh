# Sourced by bench scripts: a private dockerd (Debian's docker.io) for side-by-side runs.
#
#   dockerd_start DIR CGROUP_PARENT   starts dockerd with data, exec roots and socket under DIR,
#                                     defines docker() for it; returns 1 with DOCKERD_ERROR set
#                                     when it is not installed or does not come up
#   dockerd_stop                      stops it (and its managed containerd)
#   dockerd_forget_host_leftovers     removes the host paths dockerd (and crun) created on first
#                                     use, if they were not there when this file was sourced
#
# The host network is not touched: --bridge=none, no iptables, no forwarding. With
# DOCKERD_NETWORK=1 dockerd gets its default bridge, iptables, masquerading and forwarding (for
# networking benchmarks; refused unless BERTH_TEST_NETNS says it runs inside scripts/in-netns).

dockerd_pid=""
dockerd_dir=""
_dockerd_host_paths=(/etc/docker/key.json /run/docker/plugins /run/docker /run/containerd/s
  /run/containerd /run/crun)
_dockerd_preexisting=()
for _p in "${_dockerd_host_paths[@]}"; do
  if [ -e "$_p" ]; then _dockerd_preexisting+=("$_p"); fi
done

dockerd_start() {
  dockerd_dir=$1
  local cgroup_parent=$2 i
  DOCKERD_ERROR=""
  if ! command -v dockerd >/dev/null; then
    DOCKERD_ERROR="dockerd is not installed (scripts/install-deps)"
    return 1
  fi
  if [ -x /usr/bin/docker ]; then docker_cli=/usr/bin/docker; else docker_cli=$(command -v docker); fi
  mkdir -p "$dockerd_dir/data" "$dockerd_dir/exec"
  echo '{}' >"$dockerd_dir/daemon.json"
  local net_flags=(--bridge=none --iptables=false --ip-masq=false --ip-forward=false)
  if [ "${DOCKERD_NETWORK:-0}" = 1 ]; then
    if [ -z "${BERTH_TEST_NETNS:-}" ]; then
      DOCKERD_ERROR="DOCKERD_NETWORK=1 outside a network namespace of scripts/in-netns; refused"
      return 1
    fi
    net_flags=()
  fi
  dockerd --config-file "$dockerd_dir/daemon.json" --data-root "$dockerd_dir/data" \
    --exec-root "$dockerd_dir/exec" --pidfile "$dockerd_dir/dockerd.pid" \
    -H "unix://$dockerd_dir/docker.sock" "${net_flags[@]}" --ip6tables=false \
    --cgroup-parent="/$cgroup_parent" --log-level=warn \
    >"$dockerd_dir/log" 2>&1 &
  dockerd_pid=$!
  docker() { "$docker_cli" -H "unix://$dockerd_dir/docker.sock" "$@"; }
  for ((i = 0; i < 300; i++)); do
    if docker version >/dev/null 2>&1; then return 0; fi
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.1
  done
  DOCKERD_ERROR="dockerd did not start: $(grep -m1 -E 'level=(fatal|error)' "$dockerd_dir/log" || tail -1 "$dockerd_dir/log")"
  DOCKERD_ERROR=${DOCKERD_ERROR:0:160}
  return 1
}

dockerd_stop() {
  [ -n "$dockerd_pid" ] || return 0
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  local i cpid
  for ((i = 0; i < 150; i++)); do
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$dockerd_pid" 2>/dev/null; then
    echo "dockerd did not stop in 15 s, killing it" >&2
    kill -KILL "$dockerd_pid" 2>/dev/null || true
  fi
  wait "$dockerd_pid" 2>/dev/null || true
  # Its managed containerd normally exits with it; make sure (pid file under our exec root).
  cpid=$(cat "$dockerd_dir/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [[ $cpid =~ ^[0-9]+$ ]] && kill -0 "$cpid" 2>/dev/null &&
    grep -qF "$dockerd_dir" "/proc/$cpid/cmdline" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    sleep 1
  fi
  dockerd_pid=""
}

dockerd_forget_host_leftovers() {
  local p
  for p in "${_dockerd_host_paths[@]}"; do
    if [[ " ${_dockerd_preexisting[*]} " != *" $p "* ]] && [ -e "$p" ]; then
      if [ -d "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
    fi
  done
  return 0
}

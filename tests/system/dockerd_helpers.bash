# A private dockerd (Debian's docker.io) for the interop tests, one per test file: its data,
# exec root and socket live in $BATS_FILE_TMPDIR; no bridge, no iptables. DOCKER_HOST points at
# it. When docker.io is missing or the daemon does not come up, DOCKER_SKIP says why (the
# file's setup() skips with it).

DOCKER=/usr/bin/docker

# start_private_dockerd: returns 0 either way; DOCKER_SKIP is set when there is no daemon.
start_private_dockerd() {
  if ! command -v dockerd >/dev/null || [ ! -x "$DOCKER" ]; then
    export DOCKER_SKIP="docker.io is not installed"
    return 0
  fi
  export DOCKER_HOST=unix://$BATS_FILE_TMPDIR/docker.sock
  local d=$BATS_FILE_TMPDIR/dockerd
  mkdir -p "$d"
  dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" -H "$DOCKER_HOST" \
    --bridge=none --iptables=false --ip-masq=false --storage-driver=overlay2 >"$d/log" 2>&1 &
  for _ in $(seq 150); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  export DOCKER_SKIP="dockerd did not start: $(tail -n 3 "$d/log" | tr '\n' ' ')"
}

# stop_private_dockerd: stops it and unmounts what it left under the file's temp dir.
stop_private_dockerd() {
  local d=$BATS_FILE_TMPDIR/dockerd
  if [ -f "$d/pid" ]; then
    kill "$(cat "$d/pid")" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
  fi
  awk -v p="$BATS_FILE_TMPDIR" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

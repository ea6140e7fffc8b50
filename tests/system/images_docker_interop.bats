#!/usr/bin/env bats
# Interoperability with Docker (Debian's docker.io, a private dockerd started for this file):
# an archive written by `docker save` loads into berth and runs, and one written by
# `berth save` loads into Docker and runs.

load image_helpers

DOCKER=/usr/bin/docker

setup_file() {
  export BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
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

teardown_file() {
  local d=$BATS_FILE_TMPDIR/dockerd
  if [ -f "$d/pid" ]; then
    kill "$(cat "$d/pid")" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
  fi
  awk -v p="$BATS_FILE_TMPDIR" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

setup() {
  [ -z "${DOCKER_SKIP:-}" ] || skip "$DOCKER_SKIP"
  image_setup
}
teardown() { image_teardown; }

@test "docker save → berth load: the image runs under berth" {
  "$DOCKER" import -c 'CMD ["/bin/echo","hello from docker"]' "$BUSYBOX_TAR" dbb:1 >/dev/null
  "$DOCKER" save -o "$BATS_TEST_TMPDIR/docker.tar" dbb:1
  docker_id=$("$DOCKER" image inspect --format '{{.Id}}' dbb:1)
  run berth load -i "$BATS_TEST_TMPDIR/docker.tar"
  assert_success
  assert_output "Loaded image: dbb:1"
  run berth image inspect --format '{{.Id}}' dbb:1
  assert_output "$docker_id"
  run run_image dbb:1 /bin/echo hello from docker
  assert_output "hello from docker"
}

@test "berth save → docker load: the image runs under Docker" {
  id=$(berth import -c 'CMD ["/bin/echo","hello from berth"]' "$BUSYBOX_TAR" bbb:1)
  berth save -o "$BATS_TEST_TMPDIR/berth.tar" bbb:1
  run "$DOCKER" load -i "$BATS_TEST_TMPDIR/berth.tar"
  assert_success
  assert_output --partial "Loaded image: bbb:1"
  run "$DOCKER" image inspect --format '{{.Id}}' bbb:1
  assert_output "$id"
  run "$DOCKER" run --rm --network none bbb:1
  assert_success
  assert_output "hello from berth"
}

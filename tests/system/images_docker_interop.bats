#!/usr/bin/env bats
# Interoperability with Docker (Debian's docker.io, a private dockerd started for this file):
# an archive written by `docker save` loads into berth and runs, and one written by
# `berth save` loads into Docker and runs.

load image_helpers
load dockerd_helpers

setup_file() {
  export BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
  start_private_dockerd
}

teardown_file() { stop_private_dockerd; }

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

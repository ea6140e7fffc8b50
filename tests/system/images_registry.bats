#!/usr/bin/env bats
# Push and pull against Debian's docker-registry on 127.0.0.1: busybox and Debian 12 images,
# digests, errors, and the Docker Hub conventions berth keeps (login, credentials, tags).

load image_helpers

setup_file() {
  export BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
  start_registry
}
teardown_file() { stop_registry; }

setup() { image_setup; }
teardown() { image_teardown; }

@test "push then pull into a fresh store: same image, same digest, and it runs" {
  id=$(berth import -c 'CMD ["/bin/echo","from-registry"]' "$BUSYBOX_TAR" "$REGISTRY/bb:1")
  run berth push "$REGISTRY/bb:1"
  assert_success
  assert_line --index 0 "The push refers to repository [$REGISTRY/bb]"
  assert_line --regexp '^[0-9a-f]{12}: Pushed$'
  assert_line --regexp "^1: digest: sha256:[0-9a-f]{64} size: [0-9]+$"
  digest=$(grep -o 'sha256:[0-9a-f]*' <<<"${lines[-1]}")
  # pushing again finds every layer there
  run berth push "$REGISTRY/bb:1"
  assert_line --regexp '^[0-9a-f]{12}: Layer already exists$'

  ROOT=$BATS_TEST_TMPDIR/fresh
  run berth pull "$REGISTRY/bb:1"
  assert_success
  assert_line "1: Pulling from bb"
  assert_line --regexp '^[0-9a-f]{12}: Pull complete$'
  assert_line "Digest: $digest"
  assert_line "Status: Downloaded newer image for $REGISTRY/bb:1"
  assert_line --index -1 "$REGISTRY/bb:1"
  run berth image inspect --format '{{.Id}}' "$REGISTRY/bb:1"
  assert_output "$id"
  run berth images --digests --format '{{.Digest}}'
  assert_output "$digest"
  run run_image "$REGISTRY/bb:1" /bin/echo from-registry
  assert_output from-registry
  run berth pull "$REGISTRY/bb:1"
  assert_line "Status: Image is up to date for $REGISTRY/bb:1"

  # by digest, into yet another store
  ROOT=$BATS_TEST_TMPDIR/bydigest
  run berth pull -q "$REGISTRY/bb@$digest"
  assert_success
  run berth image inspect --format '{{.Id}}' "$REGISTRY/bb@$digest"
  assert_output "$id"
}

@test "run --pull always|missing|never: the registry's image, the stored one, or none; -q" {
  local ref=$REGISTRY/pullpolicy:1
  berth import -c 'CMD ["/bin/echo","registry"]' "$BUSYBOX_TAR" "$ref" >/dev/null
  berth push -q "$ref" >/dev/null
  # A stale copy in the store under the same name: the same files, another CMD.
  berth import -c 'CMD ["/bin/echo","stale"]' "$BUSYBOX_TAR" "$ref" >/dev/null
  run berth run --rm --network none "$ref"
  assert_success
  assert_output stale
  run berth run --rm --network none --pull always "$ref"
  assert_success
  assert_output registry
  berth rmi "$ref" >/dev/null
  run berth run --rm --network none --pull never "$ref"
  assert_failure 125
  assert_output "Error: No such image: $ref"
  run berth run --rm --network none "$ref"
  assert_success
  assert_output $'Unable to find image \''"$ref"$'\' locally\nregistry'
  berth rmi "$ref" >/dev/null
  run berth run --rm --network none -q "$ref"
  assert_success
  assert_output registry
}

@test "parallel pulls of one image into one store all succeed and agree" {
  id=$(berth import "$BUSYBOX_TAR" "$REGISTRY/parallel:1")
  berth push -q "$REGISTRY/parallel:1" >/dev/null
  ROOT=$BATS_TEST_TMPDIR/fresh
  mkdir -p "$ROOT"
  pids=()
  for i in 1 2 3 4; do
    berth pull -q "$REGISTRY/parallel:1" >"$BATS_TEST_TMPDIR/pull.$i" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$BATS_TEST_TMPDIR"/pull.*; fail "a parallel pull failed"; }; done
  run berth image inspect --format '{{.Id}}' "$REGISTRY/parallel:1"
  assert_output "$id"
  [ -z "$(ls -A "$ROOT/ingest")" ]
}

@test "pull errors: unknown tag, unknown repository, unreachable registry" {
  run berth pull "$REGISTRY/nothing:1"
  assert_failure 1
  assert_output --partial "pull $REGISTRY/nothing:1"
  assert_output --regexp 'unknown'
  run berth pull 127.0.0.1:1/x:1
  assert_failure 1
  assert_output --partial 'refused'
  run berth images -q
  assert_output ""
}

@test "a Debian 12 image goes through the registry and runs apt's tools" {
  debian_tar=$("$REPO_ROOT/scripts/make-debian-rootfs") || skip "no Debian rootfs: debootstrap failed"
  berth import -c 'CMD ["/bin/bash"]' "$debian_tar" "$REGISTRY/debian:12" >/dev/null
  run berth push "$REGISTRY/debian:12"
  assert_success
  ROOT=$BATS_TEST_TMPDIR/fresh
  run berth pull "$REGISTRY/debian:12"
  assert_success
  run run_image "$REGISTRY/debian:12" /bin/sh -c 'cat /etc/debian_version; dpkg-query -W -f="\${Package}\n" dpkg'
  assert_success
  assert_line --index 0 --regexp '^12\.'
  assert_line --index 1 dpkg
}

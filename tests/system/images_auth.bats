#!/usr/bin/env bats
# A registry with htpasswd (basic) auth: login, credentials in config.json, logout.

load image_helpers

setup_file() {
  export BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
  start_registry htpasswd
}
teardown_file() { stop_registry; }

setup() { image_setup; }
teardown() { image_teardown; }

@test "login stores credentials 0600 in config.json; push needs them; logout removes them" {
  berth import "$BUSYBOX_TAR" "$REGISTRY/private:1" >/dev/null
  run berth push "$REGISTRY/private:1"
  assert_failure 1
  assert_output --partial 'unauthorized'

  run berth login -u tester --password-stdin "$REGISTRY" <<<"wrong"
  assert_failure 1
  [ ! -e "$CONFIG/config.json" ] || ! jq -e --arg r "$REGISTRY" '.auths[$r]' "$CONFIG/config.json"

  run berth login -u tester --password-stdin "$REGISTRY" <<<"s3cret"
  assert_success
  assert_output "Login Succeeded"
  [ "$(stat -c %a "$CONFIG/config.json")" = 600 ]
  [ "$(jq -r --arg r "$REGISTRY" '.auths[$r].auth' "$CONFIG/config.json" | base64 -d)" = tester:s3cret ]

  run berth push "$REGISTRY/private:1"
  assert_success
  ROOT=$BATS_TEST_TMPDIR/fresh
  run berth pull "$REGISTRY/private:1"
  assert_success

  run berth logout "$REGISTRY"
  assert_output "Removing login credentials for $REGISTRY"
  run jq -e --arg r "$REGISTRY" '.auths[$r]' "$CONFIG/config.json"
  assert_failure
  ROOT=$BATS_TEST_TMPDIR/again
  run berth pull "$REGISTRY/private:1"
  assert_failure 1
  assert_output --partial 'unauthorized'
}

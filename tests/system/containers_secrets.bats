#!/usr/bin/env bats
# `berth run --secret`: the value as the container sees it (target, uid, gid, mode), on a
# read-only tmpfs, and nowhere else: not in inspect, ps, logs, the environment, the image,
# any file under the root (berth.db and its WAL included) or a layer blob.

load container_helpers

setup_file() { container_setup_file; }
setup() {
  container_setup
  # A value no other file could hold by chance.
  VALUE=berth-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$VALUE" >"$BATS_TEST_TMPDIR/value"
  berth secret create s "$BATS_TEST_TMPDIR/value" >/dev/null || fail "secret create s"
}
teardown() { container_teardown; }

# check_root WHEN: fails if any file under $ROOT holds $VALUE, gzip'd blobs decompressed.
check_root() {
  local hits
  hits=$(grep -r -l -a -F -- "$VALUE" "$ROOT" 2>/dev/null || true)
  [ -z "$hits" ] || fail "$1: the value is in $hits"
  local f
  while IFS= read -r -d '' f; do
    if gzip -t "$f" 2>/dev/null && zcat "$f" 2>/dev/null | grep -q -a -F -- "$VALUE"; then
      fail "$1: the value is in the blob $f"
    fi
  done < <(find "$ROOT" -type f -print0)
}

@test "--secret NAME: the value at /run/secrets/NAME" {
  run berth run --rm --secret s busybox cat /run/secrets/s
  assert_success
  assert_output "$VALUE"
  # Readable by a non-root user with the default mode 0444.
  run berth run --rm --secret s -u 1000 busybox cat /run/secrets/s
  assert_success
  assert_output "$VALUE"
}

@test "--secret target=, uid=, gid=, mode= as the container sees them" {
  berth secret create t "$BATS_TEST_TMPDIR/value" >/dev/null
  berth secret create u "$BATS_TEST_TMPDIR/value" >/dev/null
  run berth run --rm --secret s --secret t,target=db-pass,uid=1000,gid=100,mode=0400 \
    --secret u,target=/etc/app/key busybox \
    sh -c 'stat -c "%n %u %g %a" /run/secrets/s /run/secrets/db-pass /etc/app/key; cat /etc/app/key; echo'
  assert_success
  assert_line --index 0 "/run/secrets/s 0 0 444"
  assert_line --index 1 "/run/secrets/db-pass 1000 100 400"
  assert_line --index 2 "/etc/app/key 0 0 444"
  assert_line --index 3 "$VALUE"
  # mode 0400 owned by 1000: that user reads it, another does not.
  run berth run --rm --secret t,target=db-pass,uid=1000,mode=0400 -u 1000 busybox cat /run/secrets/db-pass
  assert_success
  assert_output "$VALUE"
  run berth run --rm --secret t,target=db-pass,uid=1000,mode=0400 -u 65534 busybox cat /run/secrets/db-pass
  assert_failure
  assert_output --partial "Permission denied"
}

@test "the secret is on a tmpfs and read-only" {
  run berth run --rm --secret s busybox sh -c \
    'grep " /run/secrets/s " /proc/mounts; echo x > /run/secrets/s || echo refused; rm /run/secrets/s || echo kept; cat /run/secrets/s'
  assert_success
  assert_line --index 0 --regexp '^tmpfs /run/secrets/s tmpfs ro,'
  assert_line refused
  assert_line kept
  assert_output --partial "Read-only file system"
  assert_line --index -1 "$VALUE"
}

@test "an unknown secret: run fails with 125 naming it" {
  run berth run --rm --secret nope busybox true
  assert_failure 125
  assert_output --regexp '--secret nope: No such secret: nope$'
}

@test "an unknown secret is refused by create, before any container exists" {
  run berth create --secret nope busybox true
  assert_failure 125
  assert_output "Error: --secret nope: No such secret: nope"
  run berth ps -aq
  assert_output ""
}

@test "the value appears nowhere but in the container's file" {
  local id
  id=$(berth run -d --name keeper --secret s -e PLAIN=1 busybox \
    sh -c 'test -s /run/secrets/s && echo present; sleep 100') || fail "run -d"
  wait_for sh -c "grep -q present '$ROOT/containers/$id/$id-json.log'"

  # The container can read it; its environment does not hold it.
  run berth exec "$id" cat /run/secrets/s
  assert_output "$VALUE"
  run berth exec "$id" env
  assert_success
  assert_line PLAIN=1
  refute_output --partial "$VALUE"
  run berth run --rm --secret s busybox sh -c 'env; cat /proc/1/environ'
  assert_success
  refute_output --partial "$VALUE"

  # What berth shows about the container and its image.
  local what
  for what in "inspect $id" "ps -a --no-trunc --format json" "ps -a --no-trunc" "logs $id" \
    "image inspect busybox" "history --no-trunc busybox" "secret inspect s" "secret ls" \
    "top $id"; do
    run berth $what
    assert_success
    [[ $output != *"$VALUE"* ]] || fail "berth $what shows the value: $output"
  done
  run berth logs "$id"
  assert_output present

  # Files under the root while it runs and after it stopped: berth.db, its WAL, container
  # and secret files, snapshots, blobs.
  [ -n "$(find "$ROOT" -name 'berth.db*' -type f)" ] || fail "no berth.db under $ROOT"
  check_root "running"
  run berth stop -t 1 keeper
  assert_success
  check_root "stopped"
  # The tmpfs copy under the runroot goes with the container's run.
  run grep -r -l -a -F -- "$VALUE" "$RUNROOT"
  assert_output ""
  # Copying from the stopped container finds at most the empty mount point.
  run berth cp keeper:/run/secrets/s "$BATS_TEST_TMPDIR/copied"
  if [ "$status" -eq 0 ] && [ -f "$BATS_TEST_TMPDIR/copied" ]; then
    [[ $(cat "$BATS_TEST_TMPDIR/copied") != *"$VALUE"* ]] || fail "cp from a stopped container copied the value"
  fi
  check_root "after cp"
}

@test "one secret mounted twice, with its own owner and mode at each target" {
  printf 'twice' >"$BATS_TEST_TMPDIR/v"
  berth secret create dup "$BATS_TEST_TMPDIR/v" >/dev/null
  run berth run --rm --secret dup --secret dup,target=/etc/dup,uid=1000,mode=0400 busybox \
    sh -c 'cat /run/secrets/dup; echo; cat /etc/dup; echo; stat -c "%u %a" /run/secrets/dup /etc/dup'
  assert_success
  assert_output $'twice\ntwice\n0 444\n1000 400'
}

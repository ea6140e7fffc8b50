#!/usr/bin/env bats
# berth runtime: bad input fails with one line naming the field, exits non-zero, and leaves
# nothing behind (the teardown checks state, cgroups, mounts and processes).

load helpers

# try CMD...: runs `runtime CMD...` with stdout and stderr in files, never in a pipe a
# wrongly started container could hold open; sets $status, $stdout, $stderr, $stderr_lines.
try() {
  status=0
  runtime "$@" </dev/null >"$BATS_TEST_TMPDIR/try.out" 2>"$BATS_TEST_TMPDIR/try.err" 3>&- || status=$?
  stdout=$(cat "$BATS_TEST_TMPDIR/try.out")
  stderr=$(cat "$BATS_TEST_TMPDIR/try.err")
  mapfile -t stderr_lines <"$BATS_TEST_TMPDIR/try.err"
}

# expect_error TEXT...: the last `try` failed with exactly one line on stderr that contains
# every TEXT, and no container exists.
expect_error() {
  ((status != 0)) || fail "expected a failure, got status 0 (stdout: $stdout)"
  ((${#stderr_lines[@]} == 1)) ||
    fail "expected one line on stderr, got ${#stderr_lines[@]}:"$'\n'"$stderr"
  local text
  for text in "$@"; do
    [[ $stderr == *"$text"* ]] || fail "stderr does not name '$text': $stderr"
  done
  local ids
  ids=$(runtime list -q) || fail "list -q failed"
  [[ -z $ids ]] || fail "containers left after a failed command: $ids"
}

# create_fails TEXT...: `create` of $BUNDLE fails naming every TEXT.
create_fails() {
  config_args /bin/true
  try create --bundle "$BUNDLE" "$CID"
  expect_error "$@"
}

@test "malformed config.json: the error names the line and column" {
  cat >"$BUNDLE/config.json" <<'EOF'
{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["sh",]
  }
}
EOF
  try create --bundle "$BUNDLE" "$CID"
  expect_error config.json "line 4" column
}

@test "missing config.json" {
  rm "$BUNDLE/config.json"
  try create --bundle "$BUNDLE" "$CID"
  expect_error config.json
}

@test "unknown namespace type: the error names the field" {
  local idx
  idx=$(config_get '.linux.namespaces | length')
  config_set '.linux.namespaces += [{type: "foo"}]'
  create_fails "linux.namespaces[$idx].type" '"foo"'
}

@test "unknown namespace type fails run the same way" {
  config_set '.linux.namespaces += [{type: "foo"}]'
  config_args /bin/true
  try run --bundle "$BUNDLE" "$CID"
  expect_error "linux.namespaces[" '"foo"'
}

@test "missing rootfs: the error names root.path" {
  config_set '.root.path = "no-such-rootfs"'
  create_fails root.path no-such-rootfs
}

@test "empty process.args: the error names the field" {
  config_set '.process.args = []'
  try create --bundle "$BUNDLE" "$CID"
  expect_error process.args
}

@test "relative process.cwd: the error names the field" {
  config_set '.process.cwd = "relative/dir"'
  create_fails process.cwd
}

@test "unknown capability: the error names it" {
  config_set '.process.capabilities.bounding += ["CAP_NO_SUCH_THING"]'
  create_fails process.capabilities.bounding CAP_NO_SUCH_THING
}

@test "hostname without a uts namespace: the error names hostname" {
  remove_namespace uts
  config_set '.hostname = "box"'
  create_fails hostname
}

@test "bad mount option: the error names the mount" {
  local idx
  idx=$(config_get '.mounts | length')
  add_mount /scratch tmpfs tmpfs size=banana
  create_fails "mounts[$idx]" /scratch
}

@test "a mount destination that is a symlink out of the rootfs is refused" {
  local outside=$BATS_TEST_TMPDIR/outside idx
  mkdir "$outside"
  # From rootfs/, enough ../ to reach / and then down to $outside on the host.
  ln -s "../../../../../../../../../..$outside" "$ROOTFS/evil"
  idx=$(config_get '.mounts | length')
  add_mount /evil tmpfs tmpfs
  create_fails "mounts[$idx]" /evil
  run ls -A "$outside"
  assert_output ""
  if mountpoint -q "$outside"; then fail "$outside was mounted on"; fi
}

@test "a mount destination through a symlink out of the rootfs stays inside the rootfs" {
  local outside=$BATS_TEST_TMPDIR/outside idx
  mkdir "$outside"
  ln -s "$outside" "$ROOTFS/evil"
  idx=$(config_get '.mounts | length')
  add_mount /evil/sub tmpfs tmpfs
  config_sh 'echo inside > /evil/sub/marker'
  # Either refused with the mount named, or resolved within the rootfs (as runc does):
  # never created or mounted on the host side of the link.
  try run --bundle "$BUNDLE" "$CID"
  if ((status != 0)); then
    expect_error "mounts[$idx]" /evil/sub
  fi
  run ls -A "$outside"
  assert_output ""
}

@test "an rlimit above the caller's hard limit: the error names the rlimit" {
  local hard
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((hard >= 1048576)) && skip "the hard RLIMIT_NOFILE here is $hard"
  local capeff
  capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
  (((0x$capeff >> 24) & 1)) && skip "CAP_SYS_RESOURCE is held: raising the limit would work"
  config_set '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576}]'
  create_fails "process.rlimits[0]" RLIMIT_NOFILE
}

@test "an unknown rlimit type: the error names it" {
  config_set '.process.rlimits = [{type: "RLIMIT_BANANA", soft: 1, hard: 1}]'
  create_fails "process.rlimits[0]" RLIMIT_BANANA
}

@test "a failing prestart hook fails create and undoes it" {
  config_set '.hooks = {prestart: [{path: "/bin/false"}]}'
  create_fails prestart
}

@test "a hook over its timeout is stopped and fails create" {
  config_set '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "31.5"], timeout: 1}]}'
  local start=$SECONDS
  create_fails createRuntime
  ((SECONDS - start < 10)) || fail "create took $((SECONDS - start)) s with a 1 s hook timeout"
  sleep 0.2
  run pgrep -f -x "sleep 31.5"
  assert_failure
}

@test "an executable missing from the rootfs fails run and leaves nothing" {
  config_args /bin/no-such-program
  try run --bundle "$BUNDLE" "$CID"
  expect_error /bin/no-such-program
}

@test "create refuses a duplicate id and leaves the first container alone" {
  config_args /bin/sleep 100
  create_container
  try create --bundle "$BUNDLE" "$CID"
  ((status != 0))
  [[ $stderr == *"$CID"* ]] || fail "stderr does not name $CID: $stderr"
  run container_state "$CID"
  assert_output created
}

@test "an id with a path separator is refused and creates nothing outside the state root" {
  config_args /bin/true
  try create --bundle "$BUNDLE" "../escaped-$CID"
  ((status != 0))
  [[ ! -e $BATS_TEST_TMPDIR/escaped-$CID ]]
  [[ -z $(find "$BATS_TEST_TMPDIR" -name "escaped-$CID*") ]]
}

@test "commands on an unknown container fail and name it" {
  local cmd
  for cmd in state start "kill" delete pause resume ps; do
    try "$cmd" "$CID-nope"
    ((status != 0)) || fail "$cmd of an unknown container succeeded"
    [[ $stderr == *"$CID-nope"* ]] || fail "$cmd: stderr does not name $CID-nope: $stderr"
  done
}

@test "kill with an unknown signal fails and leaves the container running" {
  config_args /bin/sleep 100
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  try kill "$CID" SIGBANANA
  ((status != 0))
  [[ $stderr == *SIGBANANA* ]] || fail "stderr does not name the signal: $stderr"
  run container_state "$CID"
  assert_output running
}

@test "terminal without --console-socket is refused by create" {
  config_set '.process.terminal = true'
  try create --bundle "$BUNDLE" "$CID"
  expect_error console-socket
}

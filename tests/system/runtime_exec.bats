#!/usr/bin/env bats
# berth runtime exec: a second process joins the running container's namespaces, cgroup
# and confinement.

load helpers

# start_sleeper: a running container whose init sleeps; sets INIT_PID.
start_sleeper() {
  config_args /bin/sleep 1000
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  INIT_PID=$(container_state "$CID" .pid)
}

@test "exec joins the container's namespaces" {
  start_sleeper
  run runtime exec "$CID" sh -c 'echo pid=$$; tr "\0" " " < /proc/1/cmdline; echo
                                 for ns in pid mnt net ipc uts; do readlink /proc/self/ns/$ns; done
                                 hostname'
  assert_success
  refute_line --index 0 pid=1
  assert_line --index 1 "/bin/sleep 1000 "
  local i=2 ns
  for ns in pid mnt net ipc uts; do
    assert_line --index "$i" "$(readlink "/proc/$INIT_PID/ns/$ns")"
    i=$((i + 1))
  done
  assert_line --index 7 berth-test
}

@test "exec joins the container's cgroup" {
  start_sleeper
  # Seen from inside (relative to the container's cgroup namespace, if it has one)...
  run runtime exec "$CID" sh -c 'cat /proc/self/cgroup; echo --; cat /proc/1/cgroup'
  assert_success
  local inside=$output
  assert_equal "${inside%%$'\n'--*}" "${inside#*--$'\n'}"
  # ...and from the host.
  runtime exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$CID" sleep 1000 \
    </dev/null >"$BATS_TEST_TMPDIR/exec.log" 2>&1 3>&-
  local pid
  pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
  assert_equal "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$INIT_PID/cgroup")"
}

@test "exec propagates the exit code" {
  start_sleeper
  run -3 runtime exec "$CID" sh -c 'exit 3'
  run -0 runtime exec "$CID" true
}

@test "exec with --env, --cwd, --user and --additional-gids" {
  start_sleeper
  run runtime exec --env FOO=bar --env PATH=/bin --cwd /home/app --user 1000:1000 \
    --additional-gids 100 "$CID" sh -c 'echo "$FOO"; pwd; id -u; id -g; grep ^Groups: /proc/self/status | tr -d "\t "'
  assert_success
  assert_equal "${lines[*]}" "bar /home/app 1000 1000 Groups:100"
}

@test "exec --process runs the process described in a JSON file" {
  start_sleeper
  jq -n '{terminal: false, user: {uid: 1000, gid: 1000}, cwd: "/tmp",
          args: ["/bin/sh", "-c", "echo $WHO in $(pwd) as $(id -u)"],
          env: ["PATH=/bin:/usr/bin", "WHO=process-json"]}' >"$BATS_TEST_TMPDIR/process.json"
  run runtime exec --process "$BATS_TEST_TMPDIR/process.json" "$CID"
  assert_success
  assert_output "process-json in /tmp as 1000"
}

@test "exec --detach --pid-file leaves the process running in the container" {
  start_sleeper
  runtime exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$CID" sleep 1000 \
    </dev/null >"$BATS_TEST_TMPDIR/exec.log" 2>&1 3>&-
  local pid
  pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
  pid_alive "$pid"
  assert_equal "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$INIT_PID/ns/pid")"
  run runtime ps --format json "$CID"
  assert_success
  jq -e --argjson p "$pid" 'index($p) != null' <<<"$output"
}

@test "exec inherits the container's capabilities; --cap adds one" {
  config_set '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"],
                                       permitted: ["CAP_KILL"]}'
  start_sleeper
  run runtime exec "$CID" grep ^CapEff: /proc/self/status
  assert_success
  assert_output "CapEff:	0000000000000020"
  run runtime exec --cap CAP_CHOWN "$CID" grep ^CapEff: /proc/self/status
  assert_success
  assert_output "CapEff:	0000000000000021"
}

@test "exec inherits seccomp and no_new_privs; --no-new-privs sets it" {
  require_seccomp
  config_set '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
                 syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 95}]}
              | .process.noNewPrivileges = false'
  start_sleeper
  run runtime exec "$CID" sh -c 'mkdir /tmp/x || echo denied; grep ^NoNewPrivs: /proc/self/status'
  assert_output --partial "Operation not supported"
  assert_line denied
  assert_line "NoNewPrivs:	0"
  run runtime exec --no-new-privs "$CID" grep ^NoNewPrivs: /proc/self/status
  assert_success
  assert_output "NoNewPrivs:	1"
}

@test "exec into a stopped or unknown container fails" {
  config_args /bin/true
  create_container
  runtime start "$CID"
  wait_status "$CID" stopped
  run runtime exec "$CID" true
  assert_failure
  run runtime exec "$CID-nope" true
  assert_failure
  assert_output --partial "$CID-nope"
}

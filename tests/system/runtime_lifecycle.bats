#!/usr/bin/env bats
# berth runtime: spec, run, create/start/state, kill, delete, exit status.

load helpers

@test "spec writes a runc-style config.json" {
  local dir=$BATS_TEST_TMPDIR/spec
  mkdir "$dir"
  run runtime spec --bundle "$dir"
  assert_success
  run jq -r '.ociVersion, .root.path, .process.args[0],
             (.linux.namespaces | map(.type) | contains(["ipc", "mount", "network", "pid", "uts"]))' \
    "$dir/config.json"
  assert_success
  assert_line --index 0 --regexp '^1\.[0-9]+\.[0-9]+'
  assert_line --index 1 rootfs
  assert_line --index 2 sh
  assert_line --index 3 true

  # Like runc, spec does not overwrite an existing config.json.
  run runtime spec --bundle "$dir"
  assert_failure
  assert_output --partial config.json
}

@test "spec --rootless maps the caller's uid in a user namespace" {
  local dir=$BATS_TEST_TMPDIR/spec
  mkdir "$dir"
  run runtime spec --rootless --bundle "$dir"
  assert_success
  run jq -r '(.linux.namespaces | map(.type) | index("user") != null),
             .linux.uidMappings[0].hostID, .linux.uidMappings[0].containerID,
             .linux.gidMappings[0].hostID' "$dir/config.json"
  assert_success
  assert_line --index 0 true
  assert_line --index 1 "$(id -u)"
  assert_line --index 2 0
  assert_line --index 3 "$(id -g)"
}

@test "run prints what the container writes and deletes it afterwards" {
  run run_sh 'echo hello from $(hostname)'
  assert_success
  assert_output "hello from berth-test"

  run runtime state "$CID"
  assert_failure
  run runtime list -q
  assert_success
  assert_output ""
}

@test "run exits with the container's exit code" {
  run -42 run_sh 'exit 42'
  run -0 run_sh 'true'
  run -1 run_sh 'false'
}

@test "run exits 128+signal when the container is killed" {
  config_args /bin/sleep 100
  runtime run --bundle "$BUNDLE" "$CID" </dev/null >"$BATS_TEST_TMPDIR/run.log" 2>&1 3>&- &
  local run_pid=$!
  wait_status "$CID" running
  record_pid "$CID"
  runtime kill "$CID" KILL
  local rc=0
  wait "$run_pid" || rc=$?
  assert_equal "$rc" 137
  # Without --keep the container is gone.
  run runtime state "$CID"
  assert_failure
}

@test "run --keep leaves the stopped container for state and delete" {
  run -3 run_sh 'exit 3' --keep
  run container_state "$CID"
  assert_success
  assert_output stopped
  run runtime delete "$CID"
  assert_success
  run runtime state "$CID"
  assert_failure
}

@test "run --detach returns while the container runs" {
  config_args /bin/sleep 100
  runtime run --detach --bundle "$BUNDLE" "$CID" </dev/null >"$BATS_TEST_TMPDIR/run.log" 2>&1 3>&-
  record_pid "$CID"
  run container_state "$CID"
  assert_output running
  run runtime delete --force "$CID"
  assert_success
}

@test "create, start and state: created, running, stopped" {
  # The process must not run before start: it leaves a mark, then waits for /tmp/go.
  config_sh 'echo started > /tmp/started; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7'
  create_container "$CID" --pid-file "$BATS_TEST_TMPDIR/pid"

  run runtime state "$CID"
  assert_success
  local st=$output pid
  assert_equal "$(jq -r .status <<<"$st")" created
  assert_equal "$(jq -r .id <<<"$st")" "$CID"
  assert_equal "$(jq -r .bundle <<<"$st")" "$BUNDLE"
  assert_equal "$(jq -r .ociVersion <<<"$st")" "$(config_get .ociVersion)"
  run jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")' <<<"$st"
  assert_success
  pid=$(jq -r .pid <<<"$st")
  [[ $pid -gt 0 ]]
  # The pid is a live process on the host and matches --pid-file.
  [[ -d /proc/$pid ]]
  assert_equal "$(cat "$BATS_TEST_TMPDIR/pid")" "$pid"
  [[ ! -e $ROOTFS/tmp/started ]]

  run runtime start "$CID"
  assert_success
  wait_file "$ROOTFS/tmp/started"
  run container_state "$CID"
  assert_output running
  assert_equal "$(container_state "$CID" .pid)" "$pid"

  touch "$ROOTFS/tmp/go"
  wait_status "$CID" stopped
  # A second start of a stopped container is refused.
  run runtime start "$CID"
  assert_failure

  run runtime delete "$CID"
  assert_success
  run runtime state "$CID"
  assert_failure
  wait_until 5 eval "! pid_alive $pid"
}

@test "kill delivers the named signal to the container's init" {
  start_sh 'trap "echo usr1 >> /tmp/signals" USR1
            trap "echo term >> /tmp/signals; exit 0" TERM
            touch /tmp/ready
            while :; do sleep 0.05; done'
  wait_file "$ROOTFS/tmp/ready"

  run runtime kill "$CID" USR1
  assert_success
  wait_until 5 grep -qx usr1 "$ROOTFS/tmp/signals"
  run runtime kill "$CID" SIGUSR1
  assert_success
  # Counted afresh on every try (an expansion here would be evaluated only once).
  wait_until 5 sh -c "test \$(grep -c usr1 '$ROOTFS/tmp/signals') -eq 2"
  run container_state "$CID"
  assert_output running

  # The default signal is SIGTERM.
  run runtime kill "$CID"
  assert_success
  wait_status "$CID" stopped
  run cat "$ROOTFS/tmp/signals"
  assert_line --index 2 term
}

@test "kill accepts KILL, SIGKILL and 9" {
  local sig n=0
  for sig in KILL SIGKILL 9; do
    n=$((n + 1))
    config_args /bin/sleep 100
    create_container "$CID-$n"
    runtime start "$CID-$n"
    wait_status "$CID-$n" running
    run runtime kill "$CID-$n" "$sig"
    assert_success
    wait_status "$CID-$n" stopped
    run runtime delete "$CID-$n"
    assert_success
  done
}

@test "kill --all signals every process of the container" {
  start_sh 'sleep 100 & sleep 100 & touch /tmp/ready; wait'
  wait_file "$ROOTFS/tmp/ready"
  run runtime kill --all "$CID" KILL
  assert_success
  wait_status "$CID" stopped
}

@test "delete refuses a running container; delete --force kills and removes it" {
  config_args /bin/sleep 100
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  local pid
  pid=$(container_state "$CID" .pid)

  run runtime delete "$CID"
  assert_failure
  run container_state "$CID"
  assert_output running

  run runtime delete --force "$CID"
  assert_success
  run runtime state "$CID"
  assert_failure
  wait_until 5 eval "! pid_alive $pid"
}

@test "delete --force removes a created container that never started" {
  config_args /bin/true
  create_container
  run runtime delete --force "$CID"
  assert_success
  run runtime list -q
  assert_output ""
}

@test "list shows containers as a table, as JSON and as ids" {
  config_args /bin/sleep 100
  create_container "$CID-a"
  create_container "$CID-b"
  runtime start "$CID-b"
  wait_status "$CID-b" running

  run runtime list -q
  assert_success
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "$CID-a $CID-b "

  run runtime list
  assert_success
  assert_line --index 0 --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER'
  assert_line --regexp "^$CID-a +[0-9]+ +created +$BUNDLE "
  assert_line --regexp "^$CID-b +[0-9]+ +running +$BUNDLE "

  run runtime list --format json
  assert_success
  assert_equal "$(jq -r --arg id "$CID-a" '.[] | select(.id == $id) | .status' <<<"$output")" created
  assert_equal "$(jq -r --arg id "$CID-b" '.[] | select(.id == $id) | .status' <<<"$output")" running
  assert_equal "$(jq -r --arg id "$CID-b" '.[] | select(.id == $id) | .bundle' <<<"$output")" "$BUNDLE"
}

@test "ps lists the container's processes" {
  start_sh 'sleep 100 & touch /tmp/ready; wait'
  wait_file "$ROOTFS/tmp/ready"
  local pid
  pid=$(container_state "$CID" .pid)

  run runtime ps --format json "$CID"
  assert_success
  run jq -e --argjson p "$pid" 'index($p) != null and length == 2' <<<"$output"
  assert_success

  run runtime ps "$CID"
  assert_success
  assert_line --index 0 --regexp 'PID'
  assert_line --regexp "^[^ ]+ +$pid "
  assert_output --partial sleep
}

@test "pause freezes every process and resume thaws them" {
  require_cgroup freezer
  start_sh 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done'
  wait_file "$ROOTFS/tmp/count"

  run runtime pause "$CID"
  assert_success
  run container_state "$CID"
  assert_output paused
  local before after
  before=$(cat "$ROOTFS/tmp/count")
  sleep 0.3
  after=$(cat "$ROOTFS/tmp/count")
  assert_equal "$after" "$before"

  run runtime resume "$CID"
  assert_success
  run container_state "$CID"
  assert_output running
  wait_until 5 sh -c "test \"\$(cat '$ROOTFS/tmp/count')\" != '$before'"
}

@test "delete --force removes a paused container" {
  require_cgroup freezer
  config_args /bin/sleep 100
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  runtime pause "$CID"
  wait_status "$CID" paused
  run runtime delete --force "$CID"
  assert_success
  run runtime state "$CID"
  assert_failure
}

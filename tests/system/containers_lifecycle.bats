#!/usr/bin/env bats
# The container lifecycle through the real CLI: run/create/start/stop/kill/restart/rm/ps/logs/
# exec/attach/inspect/wait/top/cp/rename/pause/unpause/container prune, Docker's exit codes,
# refusals that leave nothing behind, a monitor killed with SIGKILL, and parallel runs.

load container_helpers

setup_file() { container_setup_file; }
setup() { container_setup; }
teardown() { container_teardown; }

# Rows in the containers table, without going through berth.
record_count() {
  sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM containers'
}

@test "run: output, the container's exit code, stdout and stderr kept apart" {
  run --separate-stderr berth run --name first busybox sh -c 'echo out; echo err >&2; exit 3'
  [ "$status" -eq 3 ]
  [ "$output" = out ]
  [ "$stderr" = err ]
  run berth ps -a --format '{{.Names}} {{.Status}}'
  assert_output --regexp '^first Exited \(3\) .* ago$'
  run berth logs first
  assert_output $'out\nerr'
}

@test "run: exit codes 125 (bad flag, unknown image), 127 (not found), 126 (not executable)" {
  run berth run --memory 12x busybox true
  [ "$status" -eq 125 ]
  assert_output --partial 'invalid argument "12x" for "-m, --memory" flag'
  run berth run nosuchimage true
  [ "$status" -eq 125 ]
  assert_output --partial "Unable to find image 'nosuchimage' locally"
  run berth run -v relative:dir busybox true
  [ "$status" -eq 125 ]
  run berth run --env-file /nonexistent busybox true
  [ "$status" -eq 125 ]
  assert_output --partial /nonexistent
  [ "$(record_count)" = 0 ]
  run -127 berth run busybox nosuchcommand
  [ "$status" -eq 127 ]
  assert_output --partial 'exec: "nosuchcommand": executable file not found in $PATH'
  run -126 berth run busybox /etc/passwd
  [ "$status" -eq 126 ]
  # Refused before anything ran: the containers exist, created, as with Docker.
  run berth ps -a --format '{{.Status}}'
  assert_output $'Created\nCreated'
}

@test "run: a name in use is a conflict, exit 125, and no second record" {
  berth create --name web busybox true >/dev/null
  run berth run --name web busybox true
  [ "$status" -eq 125 ]
  assert_output --regexp 'Conflict. The container name "/web" is already in use by container "[0-9a-f]{64}"'
  [ "$(record_count)" = 1 ]
  run berth run --name 'bad name' busybox true
  [ "$status" -eq 125 ]
  assert_output --partial 'Invalid container name (bad name)'
  [ "$(record_count)" = 1 ]
}

@test "run -d, ps, ps -a -q --filter --format --no-trunc" {
  run berth run -d --name up -l tier=web busybox sleep 1000
  assert_success
  assert_output --regexp '^[0-9a-f]{64}$'
  id=$output
  berth run --name down busybox true
  run berth ps
  assert_line --index 0 --regexp '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
  assert_line --index 1 --regexp "^${id:0:12} +busybox +\"sleep 1000\" +.* ago +Up .* +up$"
  [ "${#lines[@]}" -eq 2 ]
  run berth ps -a -q
  [ "${#lines[@]}" -eq 2 ]
  assert_line "${id:0:12}"
  run berth ps -q --no-trunc
  assert_output "$id"
  run berth ps -a --filter status=exited --format '{{.Names}}'
  assert_output down
  run berth ps -a --filter label=tier=web --format '{{.Names}} {{.State}}'
  assert_output 'up running'
  run berth ps -a --filter name=^d --format '{{.Names}}'
  assert_output down
  run berth ps --format json
  [ "$(jq -r .Names <<<"$output")" = up ]
  run berth ps --filter bogus=1
  assert_failure
  assert_output --partial "invalid filter 'bogus'"
}

@test "stop: a shell-form command stops at once, not after the 10 s timeout" {
  berth run -d --name stopme busybox sh -c 'sleep 1000'
  start=$(date +%s%N)
  run berth stop stopme
  assert_success
  assert_output stopme
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$elapsed" -lt 2000 ] || fail "stop took ${elapsed} ms"
  [ "$(state_of stopme)" = exited ]
  run berth inspect -f "{{.State.ExitCode}}" stopme
  assert_output 143
}

@test "stop --time 1 kills a container that ignores SIGTERM" {
  berth run -d --name stubborn --init=false busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
  sleep 0.3
  start=$(date +%s%N)
  berth stop -t 1 stubborn
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$elapsed" -ge 900 ] && [ "$elapsed" -lt 5000 ] || fail "stop took ${elapsed} ms"
  run berth inspect -f '{{.State.ExitCode}}' stubborn
  assert_output 137
}

@test "kill, wait, restart, pause and unpause" {
  berth run -d --name kk busybox sleep 1000 >/dev/null
  pid=$(berth inspect -f '{{.State.Pid}}' kk)
  berth pause kk
  [ "$(state_of kk)" = paused ]
  run berth ps --format '{{.Status}}'
  assert_output --regexp '\(Paused\)$'
  # Frozen: the kernel's freezer holds the container's processes.
  local freezer
  freezer=$(awk -F: '$2 == "freezer" {print $3}' "/proc/$pid/cgroup")
  if [ -n "$freezer" ]; then
    [ "$(cat "/sys/fs/cgroup/freezer$freezer/freezer.state")" = FROZEN ]
  else
    [ "$(cat "/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")/cgroup.freeze")" = 1 ]
  fi
  berth unpause kk
  [ "$(state_of kk)" = running ]
  berth restart -t 1 kk
  [ "$(state_of kk)" = running ]
  [ "$(berth inspect -f '{{.State.Pid}}' kk)" != "$pid" ]
  (sleep 0.5; berth kill -s TERM kk >/dev/null) &
  run berth wait kk
  assert_output 143
  run berth kill kk
  assert_failure
  assert_output --partial "is not running"
}

@test "rm: a running container needs -f; -v takes its anonymous volumes; --rm removes itself" {
  berth run -d --name rr -v /data busybox sleep 1000 >/dev/null
  vol=$(berth inspect -f '{{json .Mounts}}' rr | jq -r '.[0].Name')
  run berth rm rr
  assert_failure
  assert_output --partial "You cannot remove a running container"
  run berth volume rm "$vol"
  assert_failure
  assert_output --partial "in use"
  run berth rm -f -v rr
  assert_success
  assert_output rr
  run berth volume ls -q
  assert_output ''
  [ -z "$(ls "$ROOT/containers")" ]
  berth run --rm busybox true
  [ "$(record_count)" = 0 ]
  [ -z "$(ls "$ROOT/containers")" ]
  run berth rm nosuch
  assert_failure
  assert_output "Error: No such container: nosuch"
}

@test "rmi of an image a container uses is refused" {
  berth create --name user busybox true >/dev/null
  run berth rmi busybox
  assert_failure
  assert_output --partial 'container '
  assert_output --partial 'is using its referenced image'
  berth rm user
  berth rmi busybox
}

@test "container prune removes only stopped containers" {
  berth run -d --name alive busybox sleep 1000 >/dev/null
  berth run --name dead1 busybox true
  berth create --name dead2 busybox true >/dev/null
  run berth container prune -f
  assert_success
  assert_line 'Deleted Containers:'
  assert_line --partial 'Total reclaimed space:'
  run berth ps -a --format '{{.Names}}'
  assert_output alive
}

@test "rename, inspect --format, top" {
  berth run -d --name old busybox sleep 1000 >/dev/null
  berth rename old new
  run berth inspect -f '{{.Name}} {{.State.Running}} {{.Config.Image}}' new
  assert_output '/new true busybox'
  run berth inspect old
  assert_failure
  run berth top new
  assert_success
  assert_line --index 0 --regexp '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'
  assert_output --partial 'sleep 1000'
  run berth inspect busybox
  assert_success
  [ "$(jq -r '.[0].RepoTags[0]' <<<"$output")" = busybox:latest ]
}

@test "exec: environment, user, workdir, exit code, not found" {
  berth run -d --name ex -e FROM_RUN=1 busybox sleep 1000 >/dev/null
  run berth exec -e EXTRA=2 -u 1000 -w /tmp ex sh -c 'echo $FROM_RUN $EXTRA $(id -u) $(pwd)'
  assert_success
  assert_output '1 2 1000 /tmp'
  run berth exec ex sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run -127 berth exec ex nosuchcommand
  run berth exec -i ex cat <<<"piped"
  assert_output piped
}

@test "logs: -t, --tail, --since, -f until the container exits" {
  berth run --name lg busybox sh -c 'for i in 1 2 3 4; do echo line$i; done'
  run berth logs --tail 2 lg
  assert_output $'line3\nline4'
  run berth logs -t lg
  assert_line --index 0 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{18}Z line1$'
  run berth logs --since 1h lg
  [ "${#lines[@]}" -eq 4 ]
  berth run -d --name fl busybox sh -c 'echo a; sleep 0.5; echo b' >/dev/null
  run timeout 10 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" logs -f fl
  assert_success
  assert_output $'a\nb'
}

@test "attach and start -a stream the container's output and return its code" {
  berth run -d --name at busybox sh -c 'sleep 0.5; echo attached; exit 4' >/dev/null
  run berth attach at
  [ "$status" -eq 4 ]
  assert_output attached
  berth create --name cr busybox sh -c 'echo from-start; exit 2' >/dev/null
  run berth start -a cr
  [ "$status" -eq 2 ]
  assert_output from-start
  run berth start cr
  assert_output cr
}

@test "cp: both ways, and a symlink in the container cannot reach the host" {
  berth run -d --name cp busybox sh -c 'echo inside >/inside.txt; ln -s / /evil; ln -s ../../../../../tmp /up; sleep 1000' >/dev/null
  wait_for berth exec cp test -L /up
  echo hostdata >"$BATS_TEST_TMPDIR/host.txt"
  berth cp "$BATS_TEST_TMPDIR/host.txt" cp:/host.txt
  run berth exec cp cat /host.txt
  assert_output hostdata
  berth cp cp:/inside.txt "$BATS_TEST_TMPDIR/out.txt"
  [ "$(cat "$BATS_TEST_TMPDIR/out.txt")" = inside ]
  # Through symlinks pointing out, writes land inside the container.
  berth cp "$BATS_TEST_TMPDIR/host.txt" cp:/evil/tmp/via-evil.txt
  [ ! -e /tmp/via-evil.txt ]
  run berth exec cp cat /tmp/via-evil.txt
  assert_output hostdata
  # A relative link climbing out of the root is refused, and nothing is written anywhere.
  run berth cp "$BATS_TEST_TMPDIR/host.txt" cp:/up/via-up.txt
  assert_failure
  assert_output --partial 'escapes the root'
  [ ! -e /tmp/via-up.txt ]
  # A stopped container's filesystem too.
  berth stop cp >/dev/null
  berth cp cp:/host.txt "$BATS_TEST_TMPDIR/again.txt"
  [ "$(cat "$BATS_TEST_TMPDIR/again.txt")" = hostdata ]
  run berth cp cp:/nope "$BATS_TEST_TMPDIR/x"
  assert_failure
  assert_output --partial 'Could not find the file /nope in container'
}

@test "a monitor killed with SIGKILL: the next command records the container as exited" {
  berth run -d --name victim busybox sleep 1000 >/dev/null
  pid=$(berth inspect -f '{{.State.Pid}}' victim)
  monitor=$(pgrep -f -- "monitor $ROOT ")
  kill -9 $monitor
  run berth ps -a --format '{{.Names}} {{.Status}}'
  assert_output --regexp '^victim Exited \(255\) '
  run berth inspect -f '{{.State.Error}}' victim
  assert_output --partial 'monitor'
  # Its processes and mounts are gone.
  ! kill -0 "$pid" 2>/dev/null
  ! grep -q "$ROOT/containers" /proc/self/mountinfo
  # And it starts again.
  berth start victim
  [ "$(state_of victim)" = running ]
}

@test "20 containers started in parallel from separate shells all run, with distinct names" {
  local pids=()
  for i in $(seq 20); do
    (rc=0; berth run -d busybox sleep 1000 >"$BATS_TEST_TMPDIR/id.$i" 2>&1 || rc=$?; echo $rc >"$BATS_TEST_TMPDIR/rc.$i") &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for i in $(seq 20); do
    [ "$(cat "$BATS_TEST_TMPDIR/rc.$i")" = 0 ] || fail "run $i: $(cat "$BATS_TEST_TMPDIR/id.$i")"
  done
  run berth ps --format '{{.Names}}'
  [ "${#lines[@]}" -eq 20 ]
  [ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 20 ]
  [ "$(sqlite3 "$ROOT/berth.db" 'PRAGMA integrity_check')" = ok ]
}

@test "an OOM kill is recorded: exit 137 and State.OOMKilled" {
  run berth run --name oom --memory 8m --memory-swap 8m busybox sh -c 'x=$(head -c 30000000 /dev/zero | tr "\0" a); echo survived'
  [ "$status" -eq 137 ]
  refute_output --partial survived
  run berth inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom
  assert_output 'true 137'
  run berth run --name fine --memory 64m busybox true
  run berth inspect -f '{{.State.OOMKilled}}' fine
  assert_output false
}

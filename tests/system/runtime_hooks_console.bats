#!/usr/bin/env bats
# berth runtime: the six hook points, and a terminal passed through --console-socket.

load helpers

setup() {
  runtime_setup
  HOOKLOG=$BATS_TEST_TMPDIR/hooklog
  mkdir "$HOOKLOG"
  # hook.sh NAME LOGDIR: keeps the state from stdin as LOGDIR/NAME.json and appends
  # "NAME STATUS pid|nopid" to LOGDIR/hooks.log. It runs on the host (dash) and, for
  # startContainer, inside the container (busybox), so it uses only what both have.
  cat >"$ROOTFS/hook.sh" <<'EOF'
#!/bin/sh
state=$(cat)
printf '%s\n' "$state" > "$2/$1.json"
status=$(printf '%s' "$state" | sed -n 's/.*"status" *: *"\([a-z]*\)".*/\1/p')
pid=$(printf '%s' "$state" | sed -n 's/.*"pid" *: *\([0-9]*\).*/\1/p')
if [ -n "$pid" ] && [ "$pid" != 0 ]; then p=pid; else p=nopid; fi
echo "$1 $status $p" >> "$2/hooks.log"
env > "$2/$1.env"
EOF
  chmod 0755 "$ROOTFS/hook.sh"
}

# hook_entry NAME [PATH [LOGDIR]]: the JSON of one hook that runs hook.sh.
hook_entry() {
  local name=$1 path=${2:-$ROOTFS/hook.sh} logdir=${3:-$HOOKLOG}
  jq -nc --arg p "$path" --arg n "$name" --arg l "$logdir" \
    '{path: $p, args: ["hook.sh", $n, $l], env: ["HOOK_NAME=\($n)", "PATH=/usr/bin:/bin"]}'
}

hook_names() {
  if [[ -f $HOOKLOG/hooks.log ]]; then
    cut -d" " -f1 "$HOOKLOG/hooks.log" | tr '\n' ' '
  fi
}

@test "the six hooks run in order, each with the state on stdin" {
  # startContainer runs in the container: its path and log directory are the container's.
  add_mount /hooklog bind "$HOOKLOG" bind rw
  config_set --argjson pre "$(hook_entry prestart)" \
    --argjson cr "$(hook_entry createRuntime)" \
    --argjson cc "$(hook_entry createContainer)" \
    --argjson sc "$(hook_entry startContainer /hook.sh /hooklog)" \
    --argjson ps "$(hook_entry poststart)" \
    --argjson pst "$(hook_entry poststop)" \
    '.hooks = {prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
               startContainer: [$sc], poststart: [$ps], poststop: [$pst]}'
  config_sh 'echo user-process >> /hooklog/hooks.log; while [ ! -e /tmp/go ]; do sleep 0.05; done'

  create_container
  assert_equal "$(hook_names)" "prestart createRuntime createContainer "

  runtime start "$CID"
  wait_until 10 grep -q user-process "$HOOKLOG/hooks.log"
  wait_until 10 grep -q poststart "$HOOKLOG/hooks.log"
  # startContainer runs before the user's process; poststart after it started (it may
  # finish before or after the process writes its line).
  run grep -v user-process "$HOOKLOG/hooks.log"
  assert_equal "$(cut -d" " -f1 <<<"$output" | tr '\n' ' ')" \
    "prestart createRuntime createContainer startContainer poststart "
  assert_equal "$(grep -n . "$HOOKLOG/hooks.log" | grep -E 'startContainer|user-process' | cut -d" " -f1 | cut -d: -f2 | tr '\n' ' ')" \
    "startContainer user-process "

  touch "$ROOTFS/tmp/go"
  wait_status "$CID" stopped
  runtime delete "$CID"
  run grep -v user-process "$HOOKLOG/hooks.log"
  assert_equal "$(cut -d" " -f1 <<<"$output" | tr '\n' ' ')" \
    "prestart createRuntime createContainer startContainer poststart poststop "

  # Every hook got the state of this container on stdin.
  local name
  for name in prestart createRuntime createContainer startContainer poststart poststop; do
    run jq -r '.id, .ociVersion' "$HOOKLOG/$name.json"
    assert_success
    assert_line --index 0 "$CID"
    assert_line --index 1 --regexp '^1\.'
  done
  for name in prestart createRuntime createContainer poststart poststop; do
    assert_equal "$(jq -r .bundle "$HOOKLOG/$name.json")" "$BUNDLE"
  done
  # The statuses the hooks saw, and a pid while the container lived.
  run cat "$HOOKLOG/hooks.log"
  assert_line --regexp '^prestart (creating|created) pid$'
  assert_line --regexp '^createRuntime (creating|created) pid$'
  assert_line --regexp '^createContainer (creating|created) pid$'
  assert_line --regexp '^startContainer (created|running) pid$'
  assert_line --regexp '^poststart running pid$'
  assert_line --regexp '^poststop stopped (pid|nopid)$'
}

@test "hooks get their args and only their env" {
  export BT_HOST_ONLY=leak
  config_set --argjson h "$(hook_entry createRuntime)" '.hooks = {createRuntime: [$h]}'
  config_args /bin/true
  run run_container
  assert_success
  run cat "$HOOKLOG/createRuntime.env"
  assert_line HOOK_NAME=createRuntime
  refute_output --partial BT_HOST_ONLY
}

@test "poststop runs when the container is deleted after run" {
  config_set --argjson h "$(hook_entry poststop)" '.hooks = {poststop: [$h]}'
  config_args /bin/true
  run run_container
  assert_success
  assert_equal "$(hook_names)" "poststop "
}

# start_recvtty [RECVTTY ARGS...]: starts recvtty on $BATS_TEST_TMPDIR/console.sock writing
# to $BATS_TEST_TMPDIR/console.out; sets RECVTTY_PID.
start_recvtty() {
  require_recvtty
  CONSOLE_SOCK=$BATS_TEST_TMPDIR/console.sock
  CONSOLE_OUT=$BATS_TEST_TMPDIR/console.out
  timeout 30 "$RECVTTY" "$CONSOLE_SOCK" --output "$CONSOLE_OUT" "$@" \
    </dev/null 2>"$BATS_TEST_TMPDIR/recvtty.err" 3>&- &
  RECVTTY_PID=$!
  wait_file "$CONSOLE_SOCK"
}

# wait_recvtty: waits until the pty's last slave closed (call it directly, not with `run`:
# recvtty is a child of the test's shell).
wait_recvtty() {
  local rc=0
  wait "$RECVTTY_PID" || rc=$?
  [[ $rc -eq 0 ]] || fail "recvtty exited $rc: $(cat "$BATS_TEST_TMPDIR/recvtty.err")"
}

# console_output: what the container wrote to its terminal, without CRs.
console_output() {
  tr -d '\r' <"$CONSOLE_OUT"
}

@test "a terminal through --console-socket: the process has a pty as stdio" {
  start_recvtty
  config_set '.process.terminal = true'
  config_sh 'tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; ls -l /dev/console | cut -c1'
  create_container "$CID" --console-socket "$CONSOLE_SOCK"
  runtime start "$CID"
  wait_recvtty
  run console_output
  assert_line --index 0 /dev/pts/0
  assert_line stdin-tty
  assert_line stdout-tty
  assert_line c
  wait_status "$CID" stopped
}

@test "input written to the console reaches the process" {
  start_recvtty --input $'ping\n'
  config_set '.process.terminal = true'
  config_sh 'read line; echo "got:$line"'
  create_container "$CID" --console-socket "$CONSOLE_SOCK"
  runtime start "$CID"
  wait_recvtty
  run console_output
  assert_line got:ping
}

@test "consoleSize sets the terminal's window size" {
  start_recvtty
  config_set '.process.terminal = true | .process.consoleSize = {height: 40, width: 100}'
  config_sh 'stty size'
  create_container "$CID" --console-socket "$CONSOLE_SOCK"
  runtime start "$CID"
  wait_recvtty
  run console_output
  assert_output "40 100"
}

@test "exec --tty gets its own terminal through --console-socket" {
  config_args /bin/sleep 100
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  start_recvtty
  runtime exec --tty --detach --console-socket "$CONSOLE_SOCK" "$CID" sh -c 'tty; test -t 0 && echo stdin-tty' \
    </dev/null >"$BATS_TEST_TMPDIR/exec.log" 2>&1 3>&-
  wait_recvtty
  run console_output
  assert_line --index 0 --regexp '^/dev/pts/[0-9]+$'
  assert_line stdin-tty
}

@test "run without --console-socket proxies the terminal to its own stdio" {
  config_set '.process.terminal = true | .process.args = ["/bin/sh"] | .process.env += ["PS1=$ "]'
  # script(1) gives berth a terminal of its own; the shell reads our input from the pty.
  run timeout 30 script -qec "${RUNTIME[*]} --root $STATE run -b $BUNDLE $CID" /dev/null \
    < <(sleep 1; printf 'tty; echo proxied-$((40 + 2))\nexit 7\n')
  assert_equal "$status" 7
  assert_output --partial /dev/pts/0
  assert_output --partial proxied-42
}

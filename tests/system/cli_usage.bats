#!/usr/bin/env bats
# What the CLI says to a command line it cannot parse: Docker's words and exit statuses, and
# nothing made in the store.

load image_helpers

setup() { image_setup; }
teardown() { image_teardown; }

# The store holds no container, image, volume or network row, and no container directory.
assert_store_empty() {
  run berth ps -aq
  assert_output ""
  run berth images -q
  assert_output ""
  run berth volume ls -q
  assert_output ""
  [[ ! -d $ROOT/containers ]] || [[ -z $(ls -A "$ROOT/containers") ]] || fail "container directories left"
}

@test "berth alone and a bare group print their help and exit 0" {
  run --separate-stderr berth
  assert_success
  assert_line --partial "Usage:"
  assert_line --regexp '^ +run +'
  [[ -z $stderr ]] || fail "stderr: $stderr"
  run --separate-stderr berth container
  assert_success
  assert_line --partial "Manage containers"
  assert_line --regexp '^ +ls, list, ps +List containers'
}

@test "an unknown command is named, exit 1" {
  run --separate-stderr berth nosuch
  assert_failure 1
  assert_output ""
  [[ $stderr == $'berth: unknown command: berth nosuch\n\nRun \'berth --help\' for more information' ]] ||
    fail "stderr: $stderr"
  run --separate-stderr berth volume nosuch
  assert_failure 1
  [[ $stderr == "berth: unknown command: berth volume nosuch"* ]] || fail "stderr: $stderr"
  [[ $stderr == *"Run 'berth volume --help' for more information" ]] || fail "stderr: $stderr"
}

@test "an unknown flag, a flag without its value or with a bad one: exit 125, nothing made" {
  run berth --badflag ps
  assert_failure 125
  assert_line "unknown flag: --badflag"
  run berth container ls --bad=3
  assert_failure 125
  assert_line "unknown flag: --bad"
  assert_line "Run 'berth container ls --help' for more information"
  run berth ps -Z
  assert_failure 125
  assert_line "unknown shorthand flag: 'Z' in -Z"
  run berth volume create --label
  assert_failure 125
  assert_line "flag needs an argument: --label"
  run berth logs --tail
  assert_failure 125
  assert_line "flag needs an argument: --tail"
  run berth stop -t soon c
  assert_failure 125
  assert_line "invalid argument \"soon\" for \"-t, --timeout\" flag: invalid syntax"
  run berth ps --last=y
  assert_failure 125
  assert_line "invalid argument \"y\" for \"-n, --last\" flag: invalid syntax"
  # run and exec take their arguments unparsed: flags stop at the image or the container.
  run berth run --nosuch busybox true
  assert_failure 125
  assert_line "unknown flag: --nosuch"
  assert_line "Run 'berth run --help' for more information"
  run berth exec -Z c ls
  assert_failure 125
  assert_line "unknown shorthand flag: 'Z' in -Z"
  assert_store_empty
}

@test "a wrong number of arguments says how many the command takes, exit 1, nothing made" {
  # command; its arguments; what it takes
  local cases=(
    "logs;;requires 1 argument"
    "rename;a;requires 2 arguments"
    "inspect;;requires at least 1 argument"
    "images;a b;requires at most 1 argument"
    "volume create;a b;requires at most 1 argument"
    "network create;;requires 1 argument"
    "run;;requires at least 1 argument"
    "container create;;requires at least 1 argument"
    "exec;c;requires at least 2 arguments"
  )
  local c cmd args takes
  for c in "${cases[@]}"; do
    IFS=';' read -r cmd args takes <<<"$c"
    read -ra words <<<"$cmd $args"
    run berth "${words[@]}"
    assert_failure 1
    assert_line "berth: 'berth $cmd' $takes"
    assert_line "Run 'berth $cmd --help' for more information"
  done
  assert_store_empty
}

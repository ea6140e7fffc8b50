#!/usr/bin/env bats
# berth runtime: the process section (args, env, cwd, user, umask, rlimits, oomScoreAdj)
# and sysctl, as the container sees them.

load helpers

@test "args reach the process verbatim" {
  config_args /bin/echo "two  spaces" '$HOME' "quote\"d" ""
  run run_container
  assert_success
  assert_output "two  spaces \$HOME quote\"d "
}

@test "env and cwd are the configured ones, and nothing else leaks in" {
  export BT_HOST_ONLY=leak
  config_set '.process.env = ["PATH=/bin:/usr/bin", "GREETING=hello world", "EMPTY="]
              | .process.cwd = "/home/app"'
  run run_sh 'pwd; echo "$GREETING"; env | sort'
  assert_success
  assert_line --index 0 /home/app
  assert_line --index 1 "hello world"
  assert_line "EMPTY="
  assert_line "PATH=/bin:/usr/bin"
  refute_output --partial BT_HOST_ONLY
}

@test "uid, gid and additional gids are the configured ones" {
  config_set '.process.user = {uid: 1000, gid: 1000, additionalGids: [100, 2000]}'
  run run_sh 'id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo
              grep ^Groups: /proc/self/status | tr -s "\t " " "
              grep -E "^(Uid|Gid):" /proc/self/status | tr -s "\t " " "
              touch /tmp/owned && stat -c %u:%g /tmp/owned'
  assert_success
  assert_line --index 0 1000
  assert_line --index 1 1000
  assert_line --index 2 --regexp '^(1000 )?100 (1000 )?2000 $'
  assert_line --index 3 --regexp '^Groups: 100 2000 ?$'
  assert_line --index 4 "Uid: 1000 1000 1000 1000"
  assert_line --index 5 "Gid: 1000 1000 1000 1000"
  assert_line --index 6 1000:1000
}

@test "a user without additional gids has no supplementary groups" {
  config_set '.process.user = {uid: 65534, gid: 65534}'
  run run_sh 'id -u; grep ^Groups: /proc/self/status | tr -s "\t " " "'
  assert_success
  assert_line --index 0 65534
  assert_line --index 1 --regexp '^Groups: ?$'
}

@test "umask applies to files the process creates" {
  config_set '.process.user.umask = 23'  # 0027
  run run_sh 'umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d'
  assert_success
  assert_equal "${lines[*]}" "0027 640 750"
}

@test "rlimits are set, soft and hard" {
  config_set '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 1024},
                                  {type: "RLIMIT_NPROC", soft: 300, hard: 400},
                                  {type: "RLIMIT_CORE", soft: 0, hard: 0}]'
  run run_sh 'ulimit -n; ulimit -Hn; grep -E "^Max (open files|processes|core)" /proc/self/limits | tr -s " "'
  assert_success
  assert_line --index 0 512
  assert_line --index 1 1024
  assert_line "Max core file size 0 0 bytes "
  assert_line "Max processes 300 400 processes "
  assert_line "Max open files 512 1024 files "
}

@test "rlimits not in the config keep the caller's values" {
  config_set '.process.rlimits = []'
  local want
  want=$(ulimit -Hn)
  run run_sh 'ulimit -Hn'
  assert_success
  assert_output "$want"
}

@test "oomScoreAdj is applied" {
  # Only raise it: lowering needs CAP_SYS_RESOURCE, which CI machines lack.
  config_set '.process.oomScoreAdj = 500'
  run run_sh 'cat /proc/self/oom_score_adj'
  assert_success
  assert_output 500
}

@test "scheduler policy and nice value are applied" {
  config_set '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}'
  # Fields 19 (nice) and 41 (policy) of /proc/self/stat; SCHED_BATCH is 3.
  run run_sh 'cut -d" " -f19,41 /proc/self/stat'
  assert_success
  assert_output "7 3"
}

@test "an unknown scheduler policy is refused before anything is created" {
  config_set '.process.scheduler = {"policy": "SCHED_FAST"}'
  run runtime run -b "$BUNDLE" "$CID"
  assert_failure
  assert_output --partial "process.scheduler.policy"
}

@test "sysctls are set in the container's namespaces only" {
  local before
  before=$(cat /proc/sys/net/ipv4/ip_forward)
  config_set '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}'
  run run_sh 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced'
  assert_success
  assert_equal "${lines[*]}" "1 1"
  assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$before"
}

@test "the process inherits the caller's stdin, stdout and stderr" {
  config_sh 'read line; echo "out:$line"; echo "err:$line" >&2'
  run --separate-stderr bash -c 'echo from-stdin | timeout 30 "$@"' _ \
    "${RUNTIME[@]}" --root "$STATE" run --bundle "$BUNDLE" "$CID"
  assert_success
  assert_output "out:from-stdin"
  assert_equal "$stderr" "err:from-stdin"
}

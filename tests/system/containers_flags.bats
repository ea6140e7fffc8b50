#!/usr/bin/env bats
# `berth run` flags as the container sees them: env files, mounts, cgroup limits, hostname,
# labels, stop signal and timeout, --init=false, -w, log rotation, restart policies,
# healthchecks, stdin, attach and exec.

load container_helpers

setup_file() { container_setup_file; }
setup() { container_setup; }
teardown() { container_teardown; }

require_cgroup() {
  [[ -d /sys/fs/cgroup/$1 ]] && [[ $(stat -f -c %T "/sys/fs/cgroup/$1") == cgroupfs ]] && return 0
  [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw "$1" /sys/fs/cgroup/cgroup.controllers && return 0
  skip "cgroup controller $1 is not available on this machine"
}

# cgroup_file CONTROLLER V1FILE V2FILE: a script printing the container's own limit, on a
# v1 (hybrid) or v2 host.
cgroup_file() {
  echo "cat /sys/fs/cgroup/$1/$2 2>/dev/null || cat /sys/fs/cgroup/$3"
}

# state_is CONTAINER "STATUS RESTARTCOUNT": for wait_for.
state_is() {
  [ "$(berth inspect -f '{{.State.Status}} {{.RestartCount}}' "$1")" = "$2" ]
}

# logs_have CONTAINER TEXT: a line of its logs is TEXT.
logs_have() {
  berth logs "$1" | grep -qx -- "$2"
}

# restarted CONTAINER: its restart policy restarted it at least once.
restarted() {
  (($(berth inspect -f '{{.RestartCount}}' "$1") >= 1))
}

# berth_stdin PRINTF-FORMAT ARGS...: berth ARGS with the formatted text on its stdin.
berth_stdin() {
  local input=$1
  shift
  # shellcheck disable=SC2059
  printf "$input" | berth "$@"
}

# health_is CONTAINER STATUS: its healthcheck status is STATUS.
health_is() {
  [ "$(berth inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ]
}

@test "--env-file: KEY=VALUE lines, comments and blanks skipped, a bare KEY from the caller's env" {
  printf 'A=1\n\n# a comment\nB=with space\nFROM_HOST\nC="quoted"\n' >"$BATS_TEST_TMPDIR/env"
  FROM_HOST=host-value run berth run --rm --env-file "$BATS_TEST_TMPDIR/env" -e A=flag busybox \
    sh -c 'echo "$A|$B|$FROM_HOST|$C"'
  assert_success
  # -e comes after the file and wins; quotes are kept, as Docker does.
  assert_output 'flag|with space|host-value|"quoted"'
}

@test "--mount: bind (readonly), volume and tmpfs (size, mode)" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo from-host >"$BATS_TEST_TMPDIR/host/f"
  run berth run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h,readonly" \
    --mount type=volume,source=vol,target=/v --mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770 \
    busybox sh -c 'cat /h/f; touch /h/x 2>/dev/null || echo bind-ro; echo in-volume > /v/f;
                   grep " /t " /proc/mounts; stat -c %a /t'
  assert_success
  assert_line from-host
  assert_line bind-ro
  assert_line --regexp '^tmpfs /t tmpfs rw,nosuid,nodev,noexec,.*size=1024k,mode=1770'
  assert_line 1770
  run berth run --rm --mount type=volume,source=vol,target=/data busybox cat /data/f
  assert_success
  assert_output in-volume
  # A writable bind writes through to the host.
  run berth run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h" busybox sh -c 'echo back > /h/g'
  assert_success
  [ "$(cat "$BATS_TEST_TMPDIR/host/g")" = back ]
}

@test "-m and --memory-swap: the container's memory cgroup limits" {
  require_cgroup memory
  run berth run --rm -m 64m --memory-swap 128m busybox sh -c \
    "$(cgroup_file memory memory.limit_in_bytes memory.max); $(cgroup_file memory memory.memsw.limit_in_bytes memory.swap.max)"
  assert_success
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_output $'67108864\n67108864'  # v2: swap.max is swap alone
  else
    assert_output $'67108864\n134217728'
  fi
}

@test "-m: the host cgroup of the container's init holds the limit too" {
  require_cgroup memory
  local id pid cg
  id=$(berth run -d -m 48m busybox sleep 100) || fail "run -d"
  pid=$(berth inspect -f '{{.State.Pid}}' "$id")
  [[ $pid =~ ^[1-9][0-9]*$ ]] || fail "no pid: $pid"
  cg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
  [ -n "$cg" ] || skip "no v1 memory hierarchy on this host"
  [ "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes")" = 50331648 ]
}

@test "--cpus and --cpuset-cpus: CFS quota and the cpuset" {
  require_cgroup cpu
  require_cgroup cpuset
  run berth run --rm --cpus 0.5 --cpuset-cpus 0 busybox sh -c \
    "$(cgroup_file cpu cpu.cfs_quota_us cpu.max); $(cgroup_file cpu cpu.cfs_period_us cpu.max); $(cgroup_file cpuset cpuset.cpus cpuset.cpus)"
  assert_success
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_line --index 0 "50000 100000"
  else
    assert_output $'50000\n100000\n0'
  fi
}

@test "--device-read-bps and --device-write-iops: the block device's throttle in the container's cgroup" {
  require_cgroup blkio
  local dev
  for dev in /dev/vda /dev/sda /dev/nvme0n1 /dev/xvda /dev/loop0 ""; do
    [ -b "$dev" ] && break
  done
  [ -n "$dev" ] || skip "no block device to throttle"
  local numbers
  numbers=$(printf '%d:%d' "0x$(stat -c %t "$dev")" "0x$(stat -c %T "$dev")")
  run berth run --rm --device-read-bps "$dev:1mb" --device-write-iops "$dev:100" busybox sh -c \
    'cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device 2>/dev/null || grep . /sys/fs/cgroup/io.max'
  assert_success
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_output "$numbers rbps=1048576 wbps=max riops=max wiops=100"
  else
    assert_output "$numbers 1048576"$'\n'"$numbers 100"
  fi
  run berth run --rm --device-read-bps /dev/null:1mb busybox true
  assert_failure 125
  assert_output "Error: invalid argument \"/dev/null\" for \"--device-read-bps\" flag: not a block device"
  run berth run --rm --device-write-iops "$dev:fast" busybox true
  assert_failure 125
  assert_output "Error: invalid argument \"$dev:fast\" for \"--device-write-iops\" flag: expected <device-path>:<number>"
}

@test "--cpu-period and --cpu-quota: the CFS quota, and their conflict with --cpus" {
  require_cgroup cpu
  run berth run --rm --cpu-period 50000 --cpu-quota 25000 busybox sh -c \
    "$(cgroup_file cpu cpu.cfs_quota_us cpu.max); $(cgroup_file cpu cpu.cfs_period_us cpu.max)"
  assert_success
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_line --index 0 "25000 50000"
  else
    assert_output $'25000\n50000'
  fi
  run berth run --rm --cpus 1 --cpu-quota 50000 busybox true
  assert_failure 125
  assert_output "Error: Conflicting options: --cpus and --cpu-quota cannot both be set"
  run berth run --rm --cpu-period 10 busybox true
  assert_failure 125
  assert_output "Error: --cpu-period: the CFS period must be between 1ms and 1s (1000 to 1000000)"
}

@test "--cpu-shares, --memory-reservation and --cpuset-mems: the container's cgroup" {
  require_cgroup cpu
  require_cgroup memory
  require_cgroup cpuset
  run berth run --rm -c 512 -m 64m --memory-reservation 32m --cpuset-mems 0 busybox sh -c \
    "$(cgroup_file cpu cpu.shares cpu.weight); $(cgroup_file memory memory.soft_limit_in_bytes memory.low); $(cgroup_file cpuset cpuset.mems cpuset.mems)"
  assert_success
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    assert_output $'20\n33554432\n0'  # cpu.weight = 1 + (512 - 2) * 9999 / 262142
  else
    assert_output $'512\n33554432\n0'
  fi
}

@test "--shm-size, --sysctl, --oom-score-adj and --domainname as the container sees them" {
  local shmmax
  shmmax=$(cat /proc/sys/kernel/shmmax)
  local script='grep " /dev/shm " /proc/mounts | grep -o "size=[0-9]*k"
    cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax /proc/self/oom_score_adj /proc/sys/kernel/domainname'
  run berth run --rm --shm-size 16m --sysctl net.core.somaxconn=1234 --sysctl kernel.shmmax=1000000 \
    --oom-score-adj 500 --domainname example.org busybox sh -c "$script"
  assert_success
  assert_output $'size=16384k\n1234\n1000000\n500\nexample.org'
  # The container's own namespaces changed, not the host's.
  [ "$(cat /proc/sys/kernel/shmmax)" = "$shmmax" ] || fail "the host's kernel.shmmax changed"
  run berth run --rm busybox sh -c 'grep " /dev/shm " /proc/mounts | grep -o "size=[0-9]*k"; cat /proc/self/oom_score_adj'
  assert_output $'size=65536k\n0'
  local id
  id=$(berth create --shm-size 1g --sysctl fs.mqueue.msg_max=20 --oom-score-adj -10 --domainname d.example \
    -c 256 --memory-reservation 10m --cpuset-mems 0 busybox true) || fail "create failed"
  run berth inspect -f '{{.HostConfig.ShmSize}} {{json .HostConfig.Sysctls}} {{.HostConfig.OomScoreAdj}} {{.Config.Domainname}} {{.HostConfig.CpuShares}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpusetMems}}' "$id"
  assert_output '1073741824 {"fs.mqueue.msg_max":"20"} -10 d.example 256 10485760 0'
}

@test "--sysctl, --oom-score-adj, --shm-size and resource flags: bad values exit 125, nothing made" {
  local bad
  local cases=(
    "--sysctl kernel.hostname=x|sysctl 'kernel.hostname' is not allowed"
    "--sysctl net.ipv4.ip_forward|expected key=value"
    "--network host --sysctl net.core.somaxconn=1|shares another network namespace"
    "--oom-score-adj 1001|the range is [-1000, 1000]"
    "--shm-size 0|--shm-size must be greater than 0"
    "--shm-size 1q|invalid size"
    "-m 64m --memory-reservation 128m|cannot be less than the memory reservation"
    "--cpuset-mems x|expected a list like 0-3,5"
    "-c -2|--cpu-shares cannot be negative"
  )
  for bad in "${cases[@]}"; do
    read -ra flags <<<"${bad%%|*}"
    run berth run --rm "${flags[@]}" busybox true
    assert_failure 125
    assert_output --partial "${bad#*|}"
  done
  run berth ps -aq
  assert_output ""
}

@test "--cidfile gets the ID and refuses an existing file; --label-file, then -l" {
  local cid=$BATS_TEST_TMPDIR/cid labels=$BATS_TEST_TMPDIR/labels id
  printf '# team labels\n\na=1\n  b=two words\nbare\n' >"$labels"
  id=$(berth run -d --cidfile "$cid" --label-file "$labels" -l a=flag busybox sleep 100) ||
    fail "run -d failed"
  [ "$(cat "$cid")" = "$id" ] || fail "cidfile holds '$(cat "$cid")', not $id"
  run berth inspect -f '{{json .Config.Labels}} {{.HostConfig.ContainerIDFile}}' "$id"
  assert_output "{\"a\":\"flag\",\"b\":\"two words\",\"bare\":\"\"} $cid"
  run berth create --cidfile "$cid" busybox true
  assert_failure 125
  assert_output "Error: Container ID file found, make sure the other container isn't running or delete $cid"
  # A create that fails leaves no file behind.
  run berth create --cidfile "$BATS_TEST_TMPDIR/cid2" --pull never nosuch true
  assert_failure 125
  [ ! -e "$BATS_TEST_TMPDIR/cid2" ] || fail "a failed create left its cidfile"
  printf 'x y=1\n' >"$labels"
  run berth create --label-file "$labels" busybox true
  assert_failure 125
  assert_output "Error: --label-file $labels: line 1: variable \"x y\" contains whitespaces"
  run berth ps -aq
  assert_output "$(cut -c1-12 <<<"$id")"
}

@test "--hostname and -h: uname, /etc/hostname and \$HOSTNAME" {
  run berth run --rm --hostname web-1 busybox sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME'
  assert_success
  assert_output $'web-1\nweb-1\nweb-1'
  run berth run --rm -h db busybox hostname
  assert_success
  assert_output db
}

@test "-l and --label: inspect shows them, ps --filter label= selects by them" {
  local a b
  a=$(berth create -l tier=web --label team busybox true) || fail "create a"
  b=$(berth create -l tier=db busybox true) || fail "create b"
  run berth inspect "$a"
  assert_success
  [ "$(jq -c '.[0].Config.Labels' <<<"$output")" = '{"team":"","tier":"web"}' ]
  run berth ps -aq --no-trunc --filter label=tier=web
  assert_output "$a"
  run berth ps -aq --no-trunc --filter label=team
  assert_output "$a"
  run berth ps -aq --no-trunc --filter label=tier
  assert_line "$a"
  assert_line "$b"
  run berth ps -a --filter label=tier=db --format '{{.Labels}}'
  assert_output tier=db
}

@test "--stop-signal: a trap in the container sees it on stop" {
  local id
  id=$(berth run -d --stop-signal USR1 busybox sh -c 'trap "echo got-usr1; exit 0" USR1; echo ready; while :; do sleep 0.1; done') ||
    fail "run -d"
  wait_for logs_have "$id" ready
  local start=$SECONDS
  run berth stop "$id"
  assert_success
  ((SECONDS - start < 5)) || fail "stop took $((SECONDS - start))s"
  run berth logs "$id"
  assert_output $'ready\ngot-usr1'
  run berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
  assert_output "exited 0"
}

@test "--stop-timeout: a container ignoring SIGTERM is killed after it" {
  local id
  id=$(berth run -d --stop-timeout 1 busybox sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done') ||
    fail "run -d"
  wait_for logs_have "$id" ready
  local start=$SECONDS
  run berth stop "$id"
  assert_success
  local took=$((SECONDS - start))
  ((took >= 1 && took < 5)) || fail "stop took ${took}s, expected about 1s"
  run berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
  assert_output "exited 137"
}

@test "--init=false: PID 1 is the command itself" {
  run berth run --rm --init=false busybox sh -c 'echo $$; cat /proc/1/comm; test -e /run/berth-init || echo no-init'
  assert_success
  assert_output $'1\nsh\nno-init'
  run berth run --rm busybox cat /proc/1/comm
  assert_output berth-init
}

@test "-w: the working directory, created when missing" {
  run berth run --rm -w /etc busybox pwd
  assert_success
  assert_output /etc
  run berth run --rm --workdir /new/dir busybox sh -c 'pwd; ls -d /new/dir'
  assert_success
  assert_output $'/new/dir\n/new/dir'
}

@test "--log-opt max-size and max-file: rotated files, logs shows the newest lines" {
  local id dir
  id=$(berth run -d --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done') || fail "run -d"
  run berth wait "$id"
  assert_output 0
  dir=$ROOT/containers/$id
  [ -f "$dir/$id-json.log" ] || fail "no $id-json.log"
  [ -f "$dir/$id-json.log.1" ] || fail "no $id-json.log.1"
  [ -f "$dir/$id-json.log.2" ] || fail "no $id-json.log.2"
  [ ! -e "$dir/$id-json.log.3" ] || fail "max-file=3 kept a fourth file"
  local f
  for f in "$dir/$id"-json.log*; do
    (($(stat -c %s "$f") <= 1024 + 100)) || fail "$f is $(stat -c %s "$f") bytes"
  done
  run berth logs "$id"
  assert_success
  assert_line --index -1 line-299
  assert_line line-290
  refute_line line-0
  run berth logs --tail 1 "$id"
  assert_output line-299
}

@test "--restart on-failure:2: two restarts, then it stays exited" {
  local id
  id=$(berth run -d --restart on-failure:2 busybox sh -c 'echo run; exit 3') || fail "run -d"
  wait_for state_is "$id" "exited 2"
  run berth inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}' "$id"
  assert_output "exited 2 3 on-failure"
  run berth logs "$id"
  assert_output $'run\nrun\nrun'
  sleep 1
  run state_is "$id" "exited 2"
  assert_success
}

@test "--restart always: restarts after exit; stop ends it and it does not come back" {
  local id
  id=$(berth run -d --restart always busybox sh -c 'sleep 0.3; exit 0') || fail "run -d"
  wait_for restarted "$id"
  wait_for test "$(state_of "$id")" = running
  run berth stop -t 1 "$id"
  assert_success
  run state_of "$id"
  assert_output exited
  local count
  count=$(berth inspect -f '{{.RestartCount}}' "$id")
  sleep 1.5
  run berth inspect -f '{{.State.Status}} {{.RestartCount}}' "$id"
  assert_output "exited $count"
}

@test "--restart no (the default): an exit is final" {
  local id
  id=$(berth run -d --restart no busybox sh -c 'exit 3') || fail "run -d"
  run berth wait "$id"
  assert_output 3
  sleep 0.5
  run berth inspect -f '{{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}' "$id"
  assert_output "exited 0 no"
}

@test "--health-cmd: a passing check makes the container healthy" {
  local id
  id=$(berth run -d --health-cmd 'test -e /tmp' --health-interval 1s --health-retries 1 busybox sleep 100) ||
    fail "run -d"
  wait_for health_is "$id" healthy
  run berth ps --format '{{.Status}}'
  assert_output --regexp '^Up .* \(healthy\)$'
  run berth ps -q --filter health=healthy
  assert_output "${id:0:12}"
}

@test "--health-cmd: a failing check makes it unhealthy" {
  local id
  id=$(berth run -d --health-cmd 'exit 1' --health-interval 1s --health-retries 1 busybox sleep 100) ||
    fail "run -d"
  wait_for health_is "$id" unhealthy
  run berth ps --format '{{.Status}}'
  assert_output --regexp '^Up .* \(unhealthy\)$'
  run berth inspect "$id"
  [ "$(jq -r '.[0].State.Health.FailingStreak >= 1' <<<"$output")" = true ]
  [ "$(jq -r '.[0].State.Health.Log[-1].ExitCode' <<<"$output")" = 1 ]
}

@test "--no-healthcheck: no health state; it conflicts with --health-*" {
  local id
  id=$(berth run -d --no-healthcheck busybox sleep 100) || fail "run -d"
  run berth ps --format '{{.Status}}'
  refute_output --partial health
  run berth inspect "$id"
  [ "$(jq -r '.[0].State.Health' <<<"$output")" = null ]
  run berth run --rm --no-healthcheck --health-cmd true busybox true
  assert_failure 125
  assert_output "Error: --no-healthcheck conflicts with --health-* options"
}

@test "-i: stdin is piped into the container; without it the container reads nothing" {
  run berth_stdin 'one\ntwo\n' run -i --rm busybox sh -c 'wc -l; echo done'
  assert_success
  assert_output $'2\ndone'
  run berth_stdin 'one\n' run --rm busybox sh -c 'cat; echo done'
  assert_success
  assert_output 'done'
}

@test "run -d, then attach: the client gets the output, sends stdin and returns the exit code" {
  local id
  id=$(berth run -d -i busybox sh -c 'read x; echo got-$x; exit 4') || fail "run -d"
  run berth_stdin 'hi\n' attach "$id"
  assert_failure 4
  assert_output got-hi
}

@test "exec: -e, -u and -w; exit codes, 126 and 127 for what cannot run" {
  local id
  id=$(berth run -d -e FROM_RUN=r busybox sleep 100) || fail "run -d"
  run berth exec -e A=1 -u 1000 -w /tmp "$id" sh -c 'echo "$A $FROM_RUN"; id -u; pwd'
  assert_success
  assert_output $'1 r\n1000\n/tmp'
  run berth exec -u app "$id" id
  assert_output "uid=1000(app) gid=1000(app) groups=100(users)"
  run berth exec "$id" sh -c 'exit 5'
  assert_failure 5
  run -127 berth exec "$id" no-such-command
  assert_failure 127
  assert_output --partial 'exec: "no-such-command": executable file not found in $PATH'
  run berth exec "$id" /etc/passwd
  assert_failure 126
}

@test "rm -f removes a --restart always container while it waits to restart" {
  local id
  id=$(berth run -d --restart always busybox sh -c 'exit 0') || fail "run -d"
  wait_for restarted "$id"
  run berth rm -f "$id"
  assert_success
  run berth ps -aq
  assert_output ""
}

@test "a new volume gets the image's files at its target (copy-up); nocopy and a used volume keep theirs" {
  run berth run --rm -v etcvol:/etc busybox cat /etc/passwd
  assert_success
  assert_output --partial 'root:x:0:0'
  [ -f "$(berth volume inspect -f '{{.Mountpoint}}' etcvol)/passwd" ]
  run berth run --rm -v emptyvol:/etc:nocopy busybox ls -A /etc
  assert_success
  assert_output ''
  berth run --rm -v usedvol:/data busybox sh -c 'echo mine > /data/file'
  run berth run --rm -v usedvol:/etc busybox ls -A /etc
  assert_output file
}

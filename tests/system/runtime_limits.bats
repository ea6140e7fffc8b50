#!/usr/bin/env bats
# berth runtime: cgroup limits (memory, pids, cpu, cpuset, devices) and cgroupsPath, checked
# by their effect inside the container.

load helpers

setup() {
  runtime_setup
  # cgfile CONTROLLER FILE: prints the path of FILE in the container's own cgroup, whether
  # the runtime mounted the whole hierarchy, only the container's cgroup, or used a cgroup
  # namespace; on cgroup v2 CONTROLLER is ignored.
  cat >"$ROOTFS/bin/cgfile" <<'EOF'
#!/bin/sh
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  base=/sys/fs/cgroup
  rel=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
else
  base=/sys/fs/cgroup/$1
  rel=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
fi
for f in "$base$rel/$2" "$base/$2"; do
  if [ -e "$f" ]; then
    echo "$f"
    exit 0
  fi
done
echo "cgfile: no $2 for $1 (cgroup $rel)" >&2
echo /nonexistent
exit 1
EOF
  chmod 0755 "$ROOTFS/bin/cgfile"
}

@test "a memory limit is visible and an allocation above it is OOM-killed" {
  require_cgroup memory
  config_set '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
  local v2=0
  cgroup_v2 && v2=1
  # dd really allocates its block: 8 MiB fits, 64 MiB does not.
  run run_sh 'if [ '$v2' = 1 ]; then cat $(cgfile memory memory.max); else cat $(cgfile memory memory.limit_in_bytes); fi
              dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo small-ok
              (dd if=/dev/zero of=/dev/null bs=64M count=1); echo big-status=$?
              if [ '$v2' = 1 ]; then grep "^oom_kill " $(cgfile memory memory.events)
              else grep "^oom_kill " $(cgfile memory memory.oom_control); fi'
  assert_success
  assert_line --index 0 33554432
  assert_line small-ok
  assert_line big-status=137
  assert_line --regexp '^oom_kill [1-9][0-9]*$'
}

@test "the container's init is OOM-killed: run exits 137" {
  require_cgroup memory
  config_set '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
  config_args /bin/dd if=/dev/zero of=/dev/null bs=64M count=1
  run -137 run_container
}

@test "swap is limited together with memory" {
  require_cgroup memory
  config_set '.linux.resources.memory = {limit: 33554432, swap: 67108864}'
  if cgroup_v2; then
    run run_sh 'cat $(cgfile memory memory.swap.max)'
    assert_success
    assert_output 33554432
  else
    [[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]] ||
      skip "swap accounting is off (no memory.memsw.limit_in_bytes)"
    run run_sh 'cat $(cgfile memory memory.memsw.limit_in_bytes)'
    assert_success
    assert_output 67108864
  fi
}

@test "a pids limit stops a fork bomb" {
  require_cgroup pids
  config_set '.linux.resources.pids = {limit: 20}'
  # The bomb runs in a subshell, bounded to 100 forks in case the limit does not hold.
  # What follows it uses only shell builtins: no fork is possible at that point.
  run run_sh 'cat $(cgfile pids pids.max)
              i=0
              (while [ $i -lt 100 ]; do sleep 1000 & echo $! >> /tmp/pids; i=$((i + 1)); done) 2> /tmp/err
              n=0; while read p; do n=$((n + 1)); done < /tmp/pids
              echo forked=$n
              while read line; do echo "err: $line"; done < /tmp/err'
  assert_line --index 0 20
  assert_output --partial "Resource temporarily unavailable"
  local forked
  forked=$(grep -o '^forked=[0-9]*' <<<"$output")
  forked=${forked#forked=}
  # 20 tasks in all: the shell, the subshell and at most 18 sleeps.
  ((forked >= 10 && forked <= 18)) || fail "forked $forked processes under a limit of 20"
}

@test "cpu shares, quota and period are applied and throttle a busy loop" {
  require_cgroup cpu
  config_set '.linux.resources.cpu = {shares: 512, quota: 20000, period: 100000}'
  if cgroup_v2; then
    run run_sh 'cat $(cgfile cpu cpu.max)'
    assert_success
    assert_output "20000 100000"
    return
  fi
  # A busy loop for 0.5 s of wall time gets about 0.1 s of cpu under a 20% quota (0.5 s
  # without one); utime + stime of /proc/PID/stat count in clock ticks.
  run run_sh 'cat $(cgfile cpu cpu.shares) $(cgfile cpu cpu.cfs_quota_us) $(cgfile cpu cpu.cfs_period_us)
              (while :; do :; done) & spin=$!
              sleep 0.5
              awk "{ print \"ticks=\" \$14 + \$15 }" /proc/$spin/stat
              kill $spin'
  assert_success
  assert_equal "${lines[*]:0:3}" "512 20000 100000"
  local ticks hz
  ticks=$(grep -o '^ticks=[0-9]*' <<<"$output")
  ticks=${ticks#ticks=}
  hz=$(getconf CLK_TCK)
  # At most 60% of one cpu: throttled, with room for a noisy machine.
  ((ticks * 100 < hz * 30)) || fail "the busy loop used $ticks ticks (${hz} Hz) in 0.5 s"
}

@test "a cpuset pins the container to the configured cpus" {
  require_cgroup cpuset
  local cpu=0
  (($(nproc) > 1)) && cpu=1
  config_set --arg c "$cpu" '.linux.resources.cpu = {cpus: $c, mems: "0"}'
  run run_sh 'grep ^Cpus_allowed_list: /proc/self/status | tr -d "\t"; nproc'
  assert_success
  assert_line --index 0 "Cpus_allowed_list:$cpu"
  assert_line --index 1 1
}

@test "the device cgroup denies devices that are not allowed" {
  cgroup_v2 || require_cgroup devices
  config_set '.process.capabilities.bounding += ["CAP_MKNOD"]
              | .process.capabilities.effective += ["CAP_MKNOD"]
              | .process.capabilities.permitted += ["CAP_MKNOD"]
              | .linux.resources.devices = [{allow: false, access: "rwm"},
                  {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]'
  # Denied by the cgroup: mknod (EPERM), or, where mknod is allowed as runc does, open (EPERM
  # rather than ENXIO, which a missing disk would give).
  run run_sh 'mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda > /dev/null || echo block-denied
              mknod /tmp/null2 c 1 3 && echo hi > /tmp/null2 && echo null-ok'
  assert_output --partial "Operation not permitted"
  refute_output --partial "No such device"
  assert_line block-denied
  assert_line null-ok
}

# The container's pids cgroup as /proc/self/cgroup shows it (the v2 line on a v2 host).
PIDS_CGROUP_SCRIPT='if [ -f /sys/fs/cgroup/cgroup.controllers ]; then grep "^0::" /proc/self/cgroup
                    else grep -E "^[0-9]+:([^:]*,)?pids(,[^:]*)?:" /proc/self/cgroup; fi | cut -d: -f3-'

@test "cgroupsPath places the container in the named cgroup" {
  require_cgroup pids
  # Without a cgroup namespace /proc/self/cgroup shows the path on the host.
  remove_namespace cgroup
  config_set --arg p "/$CID-custom" '.linux.cgroupsPath = $p | .linux.resources.pids = {limit: 50}'
  start_sh 'touch /tmp/ready; sleep 100'
  wait_file "$ROOTFS/tmp/ready"
  run runtime exec "$CID" sh -c "$PIDS_CGROUP_SCRIPT"
  assert_success
  assert_output "/$CID-custom"
  local host=/sys/fs/cgroup/pids/$CID-custom
  cgroup_v2 && host=/sys/fs/cgroup/$CID-custom
  [[ -d $host ]] || fail "no $host on the host"
  assert_equal "$(cat "$host/pids.max")" 50
  grep -qx "$(container_state "$CID" .pid)" "$host/cgroup.procs"
}

@test "the default cgroupsPath is /berth/<id>" {
  is_berth || skip "the default cgroupsPath is berth's own choice"
  require_cgroup pids
  remove_namespace cgroup
  config_set 'del(.linux.cgroupsPath)'
  run run_sh "$PIDS_CGROUP_SCRIPT"
  assert_success
  assert_output "/berth/$CID"
}

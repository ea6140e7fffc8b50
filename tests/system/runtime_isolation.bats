#!/usr/bin/env bats
# berth runtime: namespaces, hostname, the root filesystem, mounts and devices, as the
# container sees them.

load helpers

teardown() {
  # Host-side fixtures of some tests, removed before the leftover check.
  local m
  for m in "$BATS_TEST_TMPDIR/hostdir/sub" "$BATS_TEST_TMPDIR/hostdir/late" "$BATS_TEST_TMPDIR/hostdir" \
    "${ROOTFS:-/nonexistent}/late" "${ROOTFS:-/nonexistent}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      umount "$m"
    fi
  done
  if [[ -n ${IPC_QUEUE:-} ]]; then
    ipcrm -q "$IPC_QUEUE" 2>/dev/null || true
  fi
  if [[ -n ${NETNS:-} ]]; then
    ip netns delete "$NETNS" 2>/dev/null || true
  fi
  runtime_teardown
}

host_ns() {
  readlink "/proc/self/ns/$1"
}

@test "the process is PID 1 of a new pid namespace" {
  run run_sh 'echo pid=$$
              tr "\0\n" "  " < /proc/1/cmdline | cut -c 1-20
              readlink /proc/self/ns/pid
              ls -d /proc/[0-9]* | wc -l'
  assert_success
  assert_line --index 0 pid=1
  assert_line --index 1 '/bin/sh -c echo pid='
  assert_line --index 2 --regexp '^pid:\[[0-9]+\]$'
  refute_line --index 2 "$(host_ns pid)"
  # Only the shell, ls and wc exist in there.
  (("${lines[3]}" <= 3))
}

@test "hostname and domainname are the configured ones; the host's are untouched" {
  local before
  before=$(cat /proc/sys/kernel/hostname)
  config_set '.hostname = "box1" | .domainname = "example.org"'
  run run_sh 'hostname; cat /proc/sys/kernel/hostname; cat /proc/sys/kernel/domainname'
  assert_success
  assert_equal "${lines[*]}" "box1 box1 example.org"
  assert_equal "$(cat /proc/sys/kernel/hostname)" "$before"
}

@test "every configured namespace is new" {
  add_namespace cgroup
  run run_sh 'for ns in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$ns; done'
  assert_success
  local i=0 ns
  for ns in pid net ipc uts mnt cgroup; do
    assert_line --index "$i" --regexp "^$ns:\[[0-9]+\]$"
    [[ ${lines[$i]} != "$(host_ns "$ns")" ]] || fail "$ns namespace is the host's"
    i=$((i + 1))
  done
}

@test "namespaces left out of the config are shared with the host" {
  remove_namespace network
  remove_namespace ipc
  run run_sh 'readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts'
  assert_success
  assert_line --index 0 "$(host_ns net)"
  assert_line --index 1 "$(host_ns ipc)"
  refute_line --index 2 "$(host_ns uts)"
}

@test "a new network namespace holds only the loopback interface" {
  run run_sh 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
  assert_success
  assert_output lo
}

@test "joins an existing network namespace by path" {
  NETNS=bt-$CID
  ip netns add "$NETNS"
  ip -n "$NETNS" link add bt-br0 type bridge || skip "no bridge support in this kernel"
  local want
  want=$(ip netns exec "$NETNS" readlink /proc/self/ns/net)
  add_namespace network "/var/run/netns/$NETNS"
  run run_sh 'readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'
  assert_success
  assert_line --index 0 "$want"
  assert_line bt-br0
  assert_line lo
}

@test "a cgroup namespace shows the container's cgroups as the root" {
  add_namespace cgroup
  run run_sh 'cat /proc/self/cgroup'
  assert_success
  [[ ${#lines[@]} -gt 0 ]]
  local line
  for line in "${lines[@]}"; do
    [[ $line == *:/ ]] || fail "cgroup path not at the namespace root: $line"
  done
}

@test "an ipc namespace hides the host's System V objects" {
  IPC_QUEUE=$(ipcmk -Q | grep -o '[0-9]*$')
  run run_sh 'awk "NR > 1 { print \"queue=\" \$2 }" /proc/sysvipc/msg; echo end'
  assert_success
  refute_line "queue=$IPC_QUEUE"

  remove_namespace ipc
  run run_container
  assert_success
  assert_line "queue=$IPC_QUEUE"
}

@test "the rootfs is / and the container cannot see the host's files" {
  touch "$BATS_TEST_TMPDIR/host-marker"
  run run_sh 'ls /; test -e '"$BATS_TEST_TMPDIR"'/host-marker && echo HOST-VISIBLE; echo end-of-test'
  assert_success
  assert_line bin
  assert_line etc
  refute_line HOST-VISIBLE
  assert_line end-of-test
}

@test "run --no-pivot still confines the container to its rootfs" {
  touch "$BATS_TEST_TMPDIR/host-marker"
  run run_sh 'ls /bin/busybox; test -e '"$BATS_TEST_TMPDIR"'/host-marker && echo HOST-VISIBLE; echo end-of-test' --no-pivot
  assert_success
  assert_line /bin/busybox
  refute_line HOST-VISIBLE
  assert_line end-of-test
}

@test "proc, sysfs, devpts, shm and mqueue are mounted; /sys is read-only" {
  run run_sh 'while read src dst type opts rest; do echo "$dst $type $opts"; done < /proc/mounts
              echo 1 > /sys/kernel/uevent_helper && echo SYS-WRITABLE
              ls /sys/fs/cgroup | wc -l
              mkdir /sys/fs/cgroup/bt-x 2>/dev/null && echo CGROUP-WRITABLE'
  assert_line --regexp '^/proc proc '
  assert_line --regexp '^/sys sysfs ro,'
  assert_line --regexp '^/dev/pts devpts '
  assert_line --regexp '^/dev/shm tmpfs '
  assert_line --regexp '^/dev/mqueue mqueue '
  assert_line --regexp '^/sys/fs/cgroup(/[a-z_,=]+)? (cgroup2?|tmpfs) ro,'
  refute_line SYS-WRITABLE
  refute_line --index $((${#lines[@]} - 1)) 0
  refute_line CGROUP-WRITABLE
}

@test "a tmpfs mount has its options and size" {
  add_mount /scratch tmpfs tmpfs nosuid nodev size=1m mode=1777
  run run_sh 'grep " /scratch " /proc/mounts; stat -c %a /scratch
              echo ok > /scratch/small && cat /scratch/small
              dd if=/dev/zero of=/scratch/big bs=64k count=32 || echo FULL
              stat -c "size=%s" /scratch/big'
  assert_line --index 0 --regexp '^tmpfs /scratch tmpfs rw,nosuid,nodev,.*size=1024k'
  assert_line --index 1 1777
  assert_line --index 2 ok
  assert_output --partial "No space left on device"
  assert_line FULL
  local size
  size=$(grep -o 'size=[0-9]*$' <<<"$output")
  ((${size#size=} <= 1048576))
}

@test "a mount destination missing from the rootfs is created" {
  add_mount /new/deep/dir tmpfs tmpfs
  run run_sh 'grep -c " /new/deep/dir tmpfs " /proc/mounts'
  assert_success
  assert_output 1
  [[ -d $ROOTFS/new/deep/dir ]]
}

@test "a read-only bind mount of a host directory refuses writes" {
  local dir=$BATS_TEST_TMPDIR/hostdir
  mkdir "$dir"
  echo from-host >"$dir/file"
  add_mount /data bind "$dir" rbind ro
  run run_sh 'cat /data/file; touch /data/new; grep " /data " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
  assert_line --index 0 from-host
  assert_output --partial "Read-only file system"
  assert_line ro
  [[ ! -e $dir/new ]]
}

@test "a read-write bind mount shares writes with the host" {
  local dir=$BATS_TEST_TMPDIR/hostdir
  mkdir "$dir"
  add_mount /data bind "$dir" bind rw
  run run_sh 'echo from-container > /data/out'
  assert_success
  assert_equal "$(cat "$dir/out")" from-container
}

@test "a bind mount of a single file" {
  echo "hello file" >"$BATS_TEST_TMPDIR/greeting"
  add_mount /etc/greeting bind "$BATS_TEST_TMPDIR/greeting" bind ro
  run run_sh 'cat /etc/greeting; test -f /etc/greeting && echo regular-file'
  assert_success
  assert_line --index 0 "hello file"
  assert_line regular-file
}

@test "rbind carries submounts, bind does not" {
  local dir=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$dir/sub"
  mount -t tmpfs bt-sub "$dir/sub"
  touch "$dir/sub/marker"
  add_mount /recursive bind "$dir" rbind
  add_mount /flat bind "$dir" bind
  run run_sh 'ls /recursive/sub; echo --; ls /flat/sub; echo end'
  assert_success
  assert_equal "${lines[*]}" "marker -- end"
}

@test "mount propagation: rslave receives host mounts made later, rprivate does not" {
  local dir=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$dir/late"
  # The source must be a shared mount for anything to propagate.
  mount --bind "$dir" "$dir"
  mount --make-shared "$dir"
  add_mount /slave bind "$dir" rbind rslave
  add_mount /private bind "$dir" rbind rprivate
  start_sh 'touch /tmp/ready
            while [ ! -e /tmp/go ]; do sleep 0.05; done
            ls /slave/late; echo --; ls /private/late; echo end > /tmp/done'
  wait_file "$ROOTFS/tmp/ready"
  mount -t tmpfs bt-late "$dir/late"
  touch "$dir/late/marker"
  touch "$ROOTFS/tmp/go"
  wait_status "$CID" stopped
  run cat "$BATS_TEST_TMPDIR/$CID.log"
  assert_equal "${lines[*]}" "marker --"
}

@test "rootfsPropagation rslave receives host mounts made later, rprivate does not" {
  # The rootfs is made a shared mount so that there is something to propagate (the host's
  # own mounts may all be private).
  mkdir "$ROOTFS/late"
  mount --bind "$ROOTFS" "$ROOTFS"
  mount --make-shared "$ROOTFS"
  local prop
  for prop in rslave rprivate; do
    config_set --arg p "$prop" '.linux.rootfsPropagation = $p'
    start_sh "touch /tmp/ready-$prop; while [ ! -e /tmp/go ]; do sleep 0.05; done; ls /late; echo end" \
      "$CID-$prop"
    wait_file "$ROOTFS/tmp/ready-$prop"
  done
  mount -t tmpfs bt-late "$ROOTFS/late"
  touch "$ROOTFS/late/marker"
  touch "$ROOTFS/tmp/go"
  wait_status "$CID-rslave" stopped
  wait_status "$CID-rprivate" stopped
  run cat "$BATS_TEST_TMPDIR/$CID-rslave.log"
  assert_equal "${lines[*]}" "marker end"
  run cat "$BATS_TEST_TMPDIR/$CID-rprivate.log"
  assert_equal "${lines[*]}" "end"
}

@test "the default devices exist and work; host devices do not leak in" {
  run run_sh 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done
              echo x > /dev/null && echo null-ok
              head -c 4 /dev/urandom | wc -c
              echo x > /dev/full || echo full-ENOSPC
              for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
              ls /dev/mem /dev/kmsg /dev/sda /dev/vda 2>/dev/null | wc -l'
  assert_line "/dev/null character special file 1:3"
  assert_line "/dev/zero character special file 1:5"
  assert_line "/dev/full character special file 1:7"
  assert_line "/dev/random character special file 1:8"
  assert_line "/dev/urandom character special file 1:9"
  assert_line "/dev/tty character special file 5:0"
  assert_line null-ok
  assert_line 4
  assert_line full-ENOSPC
  assert_line "fd -> /proc/self/fd"
  assert_line "stdin -> /proc/self/fd/0"
  assert_line "stdout -> /proc/self/fd/1"
  assert_line "stderr -> /proc/self/fd/2"
  assert_line --regexp '^ptmx -> (/dev/)?pts/ptmx$'
  assert_line --index $((${#lines[@]} - 1)) 0
}

@test "an extra device from linux.devices is created with its mode" {
  config_set '.linux.devices = [{path: "/dev/extra-null", type: "c", major: 1, minor: 3,
                                 fileMode: 438, uid: 0, gid: 0}]
              | .linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 3,
                                              access: "rwm"}]'
  run run_sh 'stat -c "%F %t:%T %a" /dev/extra-null; echo hi > /dev/extra-null && echo write-ok'
  assert_success
  assert_line --index 0 "character special file 1:3 666"
  assert_line --index 1 write-ok
}

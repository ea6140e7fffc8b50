#!/usr/bin/env bats
# berth runtime: capabilities, no_new_privs, seccomp, read-only root, masked and read-only
# paths, user namespaces, as the container sees them.

load helpers

# set_caps CAP...: the same capabilities in all five sets.
set_caps() {
  config_set --argjson c "$(json_array "$@")" \
    '.process.capabilities = {bounding: $c, effective: $c, inheritable: $c, permitted: $c, ambient: $c}'
}

# The capability lines of /proc/self/status as "CapInh=... CapPrm=..." on one line.
CAPS_SCRIPT='grep ^Cap /proc/self/status | tr -d "\t" | tr ":" "=" | tr "\n" " "'

# seccomp_arches: the libseccomp names of this machine's architectures.
seccomp_arches() {
  case $(uname -m) in
    x86_64) json_array SCMP_ARCH_X86_64 SCMP_ARCH_X86 SCMP_ARCH_X32 ;;
    aarch64) json_array SCMP_ARCH_AARCH64 SCMP_ARCH_ARM ;;
    *) echo '[]' ;;
  esac
}

@test "root gets exactly the configured capabilities in all five sets" {
  set_caps CAP_CHOWN CAP_KILL
  run run_sh "$CAPS_SCRIPT"
  assert_success
  assert_output --partial "CapInh=0000000000000021 "
  assert_output --partial "CapPrm=0000000000000021 "
  assert_output --partial "CapEff=0000000000000021 "
  assert_output --partial "CapBnd=0000000000000021 "
  assert_output --partial "CapAmb=0000000000000021 "
}

@test "a non-root user keeps ambient capabilities across exec" {
  set_caps CAP_CHOWN CAP_KILL
  config_set '.process.user = {uid: 1000, gid: 1000}'
  run run_sh "id -u; $CAPS_SCRIPT"
  assert_success
  assert_line --index 0 1000
  assert_line --index 1 --partial "CapPrm=0000000000000021 "
  assert_line --index 1 --partial "CapEff=0000000000000021 "
  assert_line --index 1 --partial "CapAmb=0000000000000021 "
}

@test "a non-root user without ambient capabilities has none effective" {
  config_set '.process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL"],
                                       permitted: ["CAP_CHOWN", "CAP_KILL"],
                                       effective: ["CAP_CHOWN", "CAP_KILL"]}'
  config_set '.process.user = {uid: 1000, gid: 1000}'
  run run_sh "$CAPS_SCRIPT"
  assert_success
  assert_output --partial "CapInh=0000000000000000 "
  assert_output --partial "CapPrm=0000000000000000 "
  assert_output --partial "CapEff=0000000000000000 "
  assert_output --partial "CapBnd=0000000000000021 "
  assert_output --partial "CapAmb=0000000000000000 "
}

@test "a dropped capability is really missing: root cannot chown without CAP_CHOWN" {
  set_caps CAP_KILL
  run run_sh 'touch /tmp/f; chown 1000 /tmp/f || echo denied'
  assert_output --partial "Operation not permitted"
  assert_line denied

  set_caps CAP_CHOWN
  run run_sh 'touch /tmp/g; chown 1000 /tmp/g && stat -c %u /tmp/g'
  assert_success
  assert_output 1000
}

@test "noNewPrivileges sets NoNewPrivs" {
  config_set '.process.noNewPrivileges = true'
  run run_sh 'grep ^NoNewPrivs: /proc/self/status'
  assert_success
  assert_output "NoNewPrivs:	1"

  config_set '.process.noNewPrivileges = false'
  run run_container
  assert_success
  assert_output "NoNewPrivs:	0"
}

@test "a seccomp rule fails mkdir with the configured errno; other syscalls work" {
  require_seccomp
  config_set --argjson a "$(seccomp_arches)" \
    '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: $a,
       syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 95}]}'
  run run_sh 'grep ^Seccomp: /proc/self/status
              mkdir /tmp/x || echo mkdir-failed
              touch /tmp/file && echo touch-ok
              test -d /tmp/x || echo no-dir'
  assert_line --index 0 "Seccomp:	2"
  assert_output --partial "Operation not supported"
  assert_line mkdir-failed
  assert_line touch-ok
  assert_line no-dir
}

@test "a seccomp rule without errnoRet returns EPERM" {
  require_seccomp
  config_set '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
       syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}'
  run run_sh 'mkdir /tmp/x || echo mkdir-failed'
  assert_output --partial "Operation not permitted"
  assert_line mkdir-failed
}

@test "seccomp argument conditions match only the given argument values" {
  require_seccomp
  # chmod(path, 0777) and fchmodat(dirfd, path, 0777) are refused with EACCES (13);
  # any other mode passes.
  config_set '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [
       {names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
        args: [{index: 1, value: 511, op: "SCMP_CMP_EQ"}]},
       {names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 13,
        args: [{index: 2, value: 511, op: "SCMP_CMP_EQ"}]}]}'
  run run_sh 'touch /tmp/f
              chmod 0755 /tmp/f && stat -c %a /tmp/f
              chmod 0777 /tmp/f || echo 0777-refused
              stat -c %a /tmp/f'
  assert_line --index 0 755
  assert_output --partial "Permission denied"
  assert_line 0777-refused
  assert_line --index $((${#lines[@]} - 1)) 755
}

@test "SCMP_ACT_KILL_PROCESS kills the caller with SIGSYS" {
  require_seccomp
  config_set '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
       syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS"}]}'
  run run_sh '(mkdir /tmp/x); echo status=$?'
  assert_success
  assert_line "status=$((128 + 31))"
}

@test "a read-only root refuses writes everywhere but its writable mounts" {
  config_set '.root.readonly = true'
  add_mount /tmp tmpfs tmpfs nosuid nodev
  run run_sh 'touch /x || echo root-ro
              touch /etc/passwd || echo etc-ro
              touch /tmp/x && echo tmp-rw
              grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1'
  assert_output --partial "Read-only file system"
  assert_line root-ro
  assert_line etc-ro
  assert_line tmp-rw
  assert_line --index $((${#lines[@]} - 1)) ro
  [[ ! -e $ROOTFS/x ]]
}

@test "masked paths read empty" {
  local f procfile=
  for f in /proc/kcore /proc/timer_list /proc/keys /proc/sched_debug; do
    if [[ -e $f ]]; then
      procfile=$f
      break
    fi
  done
  [[ -n $procfile ]] || skip "none of the usually masked /proc files exists on this kernel"
  [[ -d /sys/firmware ]] && [[ -n $(ls /sys/firmware) ]] || skip "/sys/firmware is empty on this machine"
  echo top-secret >"$ROOTFS/etc/secret"
  config_set --arg p "$procfile" \
    '.linux.maskedPaths = [$p, "/sys/firmware", "/etc/secret", "/does/not/exist"]'
  run run_sh "wc -c < $procfile; ls /sys/firmware | wc -l; cat /etc/secret; echo end"
  assert_success
  assert_equal "${lines[*]}" "0 0 end"
  # The unmasked original is readable: the mask, not the kernel, made it empty.
  config_set '.linux.maskedPaths = []'
  run run_container
  assert_success
  refute_line --index 1 0
  assert_line top-secret
}

@test "read-only paths can be read but not written" {
  mkdir "$ROOTFS/etc/ro-dir"
  config_set '.linux.readonlyPaths = ["/proc/sys", "/proc/sysrq-trigger", "/etc/ro-dir"]'
  run run_sh 'cat /proc/sys/kernel/hostname
              echo 1 > /proc/sys/net/ipv4/ip_forward || echo sysctl-ro
              touch /etc/ro-dir/f || echo dir-ro
              touch /etc/rw-ok && echo etc-rw'
  assert_line --index 0 berth-test
  assert_output --partial "Read-only file system"
  assert_line sysctl-ro
  assert_line dir-ro
  assert_line etc-rw
}

@test "a user namespace maps container root to host uid 100000" {
  require_userns
  config_set '.linux.namespaces += [{type: "user"}]
              | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
              | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  local shared=$BATS_TEST_TMPDIR/shared
  mkdir "$shared"
  chown 100000:100000 "$shared"
  add_mount /shared bind "$shared" bind rw
  # Root in the namespace (host uid 100000) cannot create the mount point in a rootfs that
  # host root owns.
  mkdir "$ROOTFS/shared"
  make_traversable "$ROOTFS"
  make_traversable "$shared"

  run run_sh 'id -u; id -g
              cat /proc/self/uid_map; cat /proc/self/gid_map
              stat -c %u /bin/busybox
              touch /shared/made-inside && echo created'
  assert_success
  assert_line --index 0 0
  assert_line --index 1 0
  assert_line --index 2 --regexp '^ *0 +100000 +65536$'
  assert_line --index 3 --regexp '^ *0 +100000 +65536$'
  # Host root is not mapped: its files show up as the overflow uid.
  assert_line --index 4 65534
  assert_line created
  assert_equal "$(stat -c %u:%g "$shared/made-inside")" 100000:100000
}

@test "root in a user namespace is not root on the host" {
  require_userns
  config_set '.linux.namespaces += [{type: "user"}]
              | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
              | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  local shared=$BATS_TEST_TMPDIR/shared
  mkdir "$shared"
  echo host-only >"$shared/root-file"
  chmod 0600 "$shared/root-file"
  add_mount /shared bind "$shared" bind rw
  # Root in the namespace (host uid 100000) cannot create the mount point in a rootfs that
  # host root owns.
  mkdir "$ROOTFS/shared"
  make_traversable "$ROOTFS"
  make_traversable "$shared"
  chmod 0777 "$shared"
  run run_sh 'cat /shared/root-file || echo denied'
  assert_output --partial "Permission denied"
  assert_line denied
}

# Starts the test seccomp agent, which answers every notification with errno $1.
start_seccomp_agent() {
  [[ -x $SECCOMP_AGENT ]] || fail "seccomp_agent not built at $SECCOMP_AGENT (set BERTH_TOOLS)"
  AGENT_SOCK=$BATS_TEST_TMPDIR/agent.sock
  AGENT_STATE=$BATS_TEST_TMPDIR/agent-state.json
  "$SECCOMP_AGENT" "$AGENT_SOCK" "$AGENT_STATE" "$1" 3>&- &
  AGENT_PID=$!
  wait_until 5 test -S "$AGENT_SOCK"
}

@test "SCMP_ACT_NOTIFY hands the listener to the agent at listenerPath, which answers for the kernel" {
  require_seccomp
  start_seccomp_agent 18 # EXDEV: only the agent would answer with this
  config_set --argjson a "$(seccomp_arches)" --arg sock "$AGENT_SOCK" \
    '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: $a,
       listenerPath: $sock, listenerMetadata: "meta-42",
       syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}'
  run run_sh 'mkdir /tmp/x || echo mkdir-failed; touch /tmp/f && echo touch-ok'
  assert_output --partial "Invalid cross-device link"
  assert_line mkdir-failed
  assert_line touch-ok
  wait "$AGENT_PID" || true
  run jq -r '[.fds[0], .metadata, .state.id, (.pid == .state.pid)] | join(" ")' "$AGENT_STATE"
  assert_output "seccompFd meta-42 $CID true"
}

@test "SCMP_ACT_NOTIFY with no agent listening fails before the container starts" {
  require_seccomp
  config_set --argjson a "$(seccomp_arches)" --arg sock "$BATS_TEST_TMPDIR/nobody.sock" \
    '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: $a, listenerPath: $sock,
       syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
  run runtime run -b "$BUNDLE" "$CID"
  assert_failure
  assert_output --partial "linux.seccomp.listenerPath"
}

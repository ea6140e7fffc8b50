#!/usr/bin/env bats
# berth's secure defaults for `docker run` flags, checked from inside real containers started
# with `berth run` on the busybox image (container_helpers.bash).

load container_helpers

# The status lines of /proc/self/status that matter here, one per line.
STATUS_SCRIPT='grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t"'

setup_file() { container_setup_file; }
setup() { container_setup; }
teardown() { container_teardown; }

require_seccomp() {
  grep -q '^Seccomp:' /proc/self/status || skip "the kernel has no seccomp support"
  [[ -e /proc/sys/kernel/seccomp/actions_avail ]] || skip "the kernel has no seccomp filters"
}

require_userns() {
  local max
  max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null) || max=0
  ((max > 0)) || skip "user namespaces are disabled (user.max_user_namespaces=0)"
  unshare -U true 2>/dev/null || skip "unshare -U does not work here"
}

require_cgroup() {
  [[ -d /sys/fs/cgroup/$1 ]] && [[ $(stat -f -c %T "/sys/fs/cgroup/$1") == cgroupfs ]] && return 0
  [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw "$1" /sys/fs/cgroup/cgroup.controllers && return 0
  skip "cgroup controller $1 is not available on this machine"
}

# no_containers: a refused run left no container record behind.
no_containers() {
  run berth ps -a --no-trunc --format '{{.ID}} {{.Status}} {{.Command}}'
  assert_success
  assert_output ""
}

@test "defaults: Docker's capabilities without NET_RAW, NoNewPrivs, a seccomp filter" {
  run berth run --rm busybox sh -c "$STATUS_SCRIPT"
  assert_success
  # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT
  # MKNOD AUDIT_WRITE SETFCAP; NET_RAW (bit 13, 0x2000) absent.
  assert_line "CapEff:00000000a80405fb"
  assert_line "CapBnd:00000000a80405fb"
  assert_line "NoNewPrivs:1"
  assert_line "Seccomp:2"
}

@test "defaults: no NET_RAW; --cap-add NET_RAW brings it back" {
  run berth run --rm busybox sh -c 'grep ^CapEff /proc/self/status | cut -f2'
  assert_success
  (((16#$output & 0x2000) == 0)) || fail "NET_RAW is in $output"
  run berth run --rm --cap-add NET_RAW busybox sh -c 'grep ^CapEff /proc/self/status | cut -f2'
  assert_success
  (((16#$output & 0x2000) != 0)) || fail "NET_RAW is not in $output"
}

@test "defaults: the seccomp profile blocks unshare and mount" {
  require_seccomp
  run berth run --rm busybox sh -c 'unshare -U true; echo "unshare=$?"; mkdir -p /mnt/x; mount -t tmpfs none /mnt/x; echo "mount=$?"'
  assert_success
  assert_line "unshare=1"
  assert_line "mount=1"
  assert_output --partial "unshare(0x10000000): Operation not permitted"
  assert_output --partial "mount: permission denied"
}

@test "the filter, not a capability, is what refuses unshare -U" {
  require_seccomp
  require_userns
  run berth run --rm --security-opt seccomp=unconfined busybox unshare -U true
  assert_success
}

@test "seccomp=unconfined and no-new-privileges=false turn the defaults off" {
  run berth run --rm --security-opt seccomp=unconfined --security-opt no-new-privileges=false busybox \
    sh -c "$STATUS_SCRIPT"
  assert_success
  assert_line "NoNewPrivs:0"
  assert_line "Seccomp:0"
}

@test "seccomp=FILE: a Docker-format profile is applied" {
  require_seccomp
  local profile=$BATS_TEST_TMPDIR/profile.json
  cat >"$profile" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
  run berth run --rm --security-opt "seccomp=$profile" busybox sh -c 'mkdir /tmp/d || echo refused'
  assert_success
  assert_line refused
  assert_output --partial "Permission denied"
}

@test "defaults: masked and read-only /proc and /sys paths" {
  local p checks=""
  for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
    [[ -e $p ]] && checks+="echo $p=\$(cat $p | wc -c); "
  done
  [[ -n $checks ]] || skip "none of the masked /proc files exists on this kernel"
  run berth run --rm busybox sh -c "$checks"' ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname || echo ro-sys'
  assert_success
  for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
    [[ -e $p ]] && assert_line "$p=0"
  done
  assert_line ro-sys
  assert_output --partial "Read-only file system"
}

@test "defaults: a pids limit of 4096; --pids-limit overrides it" {
  require_cgroup pids
  local script='cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'
  run berth run --rm busybox sh -c "$script"
  assert_success
  assert_output 4096
  run berth run --rm --pids-limit 100 busybox sh -c "$script"
  assert_success
  assert_output 100
  run berth run --rm --pids-limit -1 busybox sh -c "$script"
  assert_success
  assert_output max
}

@test "init: PID 1 is berth's init, it reaps orphans and returns the command's status" {
  run berth run --rm busybox sh -c 'sh -c "sleep 0.2 & exit 0"; sleep 1; ps -o pid,stat,comm'
  assert_success
  assert_line --regexp '^ +1 .* berth-init$'
  refute_output --regexp ' Z '
  run berth run --rm busybox sh -c 'exit 7'
  assert_failure 7
  run berth run --rm --init=false busybox sh -c 'echo $$'
  assert_success
  assert_output 1
}

@test "the command starts with no signal blocked or ignored, with or without the init" {
  # The monitor blocks signals and SIGPIPE for itself; the container is created from it. And
  # what berth inherits is not passed on: signals_ignored runs it with every signal ignored
  # and blocked, glibc's internal 32 and 33 too.
  # berth's own children must still be reaped by berth (the first run sets up the bridge).
  local clean=$'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000'
  local ignored=${BERTH_TOOLS:-$REPO_ROOT/build/release/tests/tools}/signals_ignored
  local prefix init
  for prefix in "$ignored" ""; do
    for init in true false; do
      BERTH_PREFIX=$prefix run berth run --rm --init=$init busybox grep -E '^Sig(Blk|Ign):' /proc/self/status
      assert_success
      assert_output "$clean"
    done
  done
  local id
  id=$(BERTH_PREFIX=$ignored berth run -d busybox sleep 100) || fail "run -d failed"
  BERTH_PREFIX=$ignored run berth exec "$id" grep -E '^Sig(Blk|Ign):' /proc/self/status
  assert_success
  assert_output "$clean"
}

@test "init: SIGTERM reaches a shell-form command at once" {
  local id
  id=$(berth run -d busybox sh -c 'sleep 100') || fail "run -d failed"
  wait_for test "$(state_of "$id")" = running
  local start=$SECONDS
  # The default stop timeout is 10 s: a SIGTERM the command never saw would take that long.
  run berth stop "$id"
  assert_success
  ((SECONDS - start < 3)) || fail "the container took $((SECONDS - start))s to stop"
  run berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
  assert_output "exited 143"
}

@test "--privileged: every capability berth holds, no seccomp filter" {
  local host_bnd
  host_bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  run berth run --rm --privileged busybox sh -c "$STATUS_SCRIPT"
  assert_success
  assert_line "CapEff:$host_bnd"
  assert_line "Seccomp:0"
}

@test "-u 1000:1000 and --group-add; -u NAME from the container's passwd" {
  run berth run --rm -u 1000:1000 --group-add 100 --group-add 4242 busybox sh -c 'id; grep ^CapEff /proc/self/status'
  assert_success
  assert_line --index 0 "uid=1000(app) gid=1000(app) groups=100(users),4242"
  assert_line --index 1 --regexp 'CapEff:	0+$'
  run berth run --rm -u app busybox id
  assert_success
  assert_output "uid=1000(app) gid=1000(app) groups=100(users)"
  # Like Docker, the user is looked up in the container's own passwd when it starts.
  run berth run --rm -u ghost busybox id
  assert_failure 125
  assert_output --regexp '^Error: start container [0-9a-f]{12}: unable to find user ghost: no matching entries in passwd file$'
}

@test "run --rm whose start fails leaves no container" {
  local i
  for i in $(seq 20); do
    run berth run --rm -u ghost busybox id
    assert_failure 125
    no_containers
  done
}

@test "env, workdir, entrypoint and cmd follow Docker's rules" {
  berth import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV FOO=image' -c 'ENV BAR=image' \
    -c 'ENTRYPOINT ["/bin/echo", "ep"]' -c 'CMD ["c1", "c2"]' -c 'WORKDIR /etc' "$BUSYBOX_TAR" img >/dev/null ||
    fail "import img"
  run berth run --rm img
  assert_success
  assert_output "ep c1 c2"
  run berth run --rm img x y
  assert_success
  assert_output "ep x y"
  run berth run --rm --entrypoint /bin/pwd img
  assert_success
  assert_output /etc
  run berth run --rm --entrypoint /bin/pwd -w /tmp img
  assert_success
  assert_output /tmp
  printf 'BAR=file\n# comment\nBAZ=file\n' >"$BATS_TEST_TMPDIR/env"
  run berth run --name envtest --entrypoint "" --env-file "$BATS_TEST_TMPDIR/env" -e FOO=flag img \
    sh -c 'echo "$FOO $BAR $BAZ $HOSTNAME $HOME"'
  assert_success
  local id
  id=$(berth inspect -f '{{.Id}}' envtest) || fail "inspect envtest"
  assert_output "flag file file ${id:0:12} /root"
}

@test "--read-only root; strict profile adds a tmpfs /tmp and drops every capability" {
  run berth run --rm busybox sh -c 'touch /x && echo wrote'
  assert_success
  assert_output wrote
  run berth run --rm --read-only busybox sh -c 'touch /x || echo refused'
  assert_line refused
  assert_output --partial "Read-only file system"

  run berth run --rm --security-profile strict busybox true
  assert_failure 125
  assert_output "Error: strict profile: a memory limit is required; add --memory (e.g. --memory 512m)"
  no_containers
  run berth run --rm --security-profile strict --memory 64m --pids-limit 64 -u 1000 busybox \
    sh -c 'touch /x 2>/dev/null || echo ro-root; touch /tmp/x && echo tmp-ok; grep ^CapBnd /proc/self/status'
  assert_success
  assert_line ro-root
  assert_line tmp-ok
  assert_line --regexp 'CapBnd:	0+$'
}

@test "volumes, binds, tmpfs and --ulimit as the container sees them" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo from-host >"$BATS_TEST_TMPDIR/host/f"
  run berth run --rm -v "$BATS_TEST_TMPDIR/host:/data:ro" -v named:/vol --tmpfs /scratch:size=1m \
    --ulimit nofile=512:1024 busybox \
    sh -c 'cat /data/f; touch /data/g || echo bind-ro; echo v > /vol/v; grep " /scratch " /proc/mounts; ulimit -n; ulimit -Hn'
  assert_success
  assert_line from-host
  assert_line bind-ro
  assert_line --regexp '^tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,.*size=1024k'
  assert_line 512
  assert_line 1024
  # The named volume outlives the container: the next one sees the file.
  run berth run --rm -v named:/vol busybox cat /vol/v
  assert_success
  assert_output v
}

@test "bad flag values: one message naming the flag, exit 125" {
  run berth run --rm -v "/h:relative" busybox true
  assert_failure 125
  assert_output "Error: invalid argument \"/h:relative\" for \"-v, --volume\" flag: invalid mount path: 'relative' mount path must be absolute"
  run berth run --rm --memory 12q busybox true
  assert_failure 125
  assert_output "Error: invalid argument \"12q\" for \"-m, --memory\" flag: invalid size: '12q'"
  no_containers
}

@test "flags checked with the image config are refused by create, before any container exists" {
  local profile=$BATS_TEST_TMPDIR/profile.json
  echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$profile"
  local verb
  for verb in create run; do
    run berth $verb --cap-add FLY busybox true
    assert_failure 125
    assert_output "Error: invalid argument \"FLY\" for \"--cap-add\" flag: unknown capability: \"CAP_FLY\""
    run berth $verb --security-opt "seccomp=$profile" busybox true
    assert_failure 125
    assert_output "Error: --security-opt seccomp=$profile: defaultAction: unknown action \"SCMP_ACT_NOPE\""
    run berth $verb --security-profile strict --memory 64m --pids-limit 64 busybox true
    assert_failure 125
    assert_output "Error: strict profile: the container would run as root; add USER to the image or pass --user"
    no_containers
  done
}

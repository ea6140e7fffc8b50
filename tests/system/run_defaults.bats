#!/usr/bin/env bats
# berth's secure defaults for `docker run` flags, checked from inside real containers: the
# bundle's config.json comes from build_container_spec (through tests/tools/spec_from_flags)
# and runs with `berth runtime run` on a busybox rootfs.

load helpers

SPEC_FROM_FLAGS=${BERTH_TOOLS:-$REPO_ROOT/build/release/tests/tools}/spec_from_flags

# The status lines of /proc/self/status that matter here, one per line.
STATUS_SCRIPT='grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t"'

setup_file() {
  runtime_setup_file
  [[ -x $SPEC_FROM_FLAGS ]] || fail "spec_from_flags not built at $SPEC_FROM_FLAGS (set BERTH_TOOLS)"
}

setup() {
  runtime_setup
  rm -f "$BUNDLE/config.json"
  IMAGE_CONFIG=$BATS_TEST_TMPDIR/image.json
  image_config '{"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FOO=image"], "Cmd": ["sh"]}'
  # The init is the static berth binary itself, as the engine mounts it.
  INIT_BINARY=$BERTH
}

# image_config JSON: the "config" member of the image config the tests run.
image_config() {
  jq -n --argjson c "$1" '{architecture: "amd64", os: "linux", config: $c,
                           rootfs: {type: "layers", diff_ids: []}}' >"$IMAGE_CONFIG"
}

# spec [RUN FLAGS...] IMAGE [CMD...]: writes $BUNDLE/config.json from the flags.
spec() {
  "$SPEC_FROM_FLAGS" --bundle "$BUNDLE" --image-config "$IMAGE_CONFIG" --id "$CID" \
    --init-binary "$INIT_BINARY" --volumes-dir "$BATS_TEST_TMPDIR/volumes" "$@"
}

# run_flags [RUN FLAGS...] IMAGE [CMD...]: spec + `runtime run` in the foreground.
run_flags() {
  spec "$@" || return 125
  run_container
}

@test "defaults: Docker's capabilities without NET_RAW, NoNewPrivs, a seccomp filter" {
  run run_flags img sh -c "$STATUS_SCRIPT"
  assert_success
  # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT
  # MKNOD AUDIT_WRITE SETFCAP; NET_RAW (bit 13, 0x2000) absent.
  assert_line "CapEff:00000000a80405fb"
  assert_line "CapBnd:00000000a80405fb"
  assert_line "NoNewPrivs:1"
  assert_line "Seccomp:2"
}

@test "defaults: no NET_RAW; --cap-add NET_RAW brings it back" {
  run run_flags img sh -c 'grep ^CapEff /proc/self/status | cut -f2'
  assert_success
  (( (16#$output & 0x2000) == 0 )) || fail "NET_RAW is in $output"
  run run_flags --cap-add NET_RAW img sh -c 'grep ^CapEff /proc/self/status | cut -f2'
  assert_success
  (( (16#$output & 0x2000) != 0 )) || fail "NET_RAW is not in $output"
}

@test "defaults: the seccomp profile blocks unshare and mount" {
  require_seccomp
  run run_flags img sh -c 'unshare -U true; echo "unshare=$?"; mkdir -p /mnt/x; mount -t tmpfs none /mnt/x; echo "mount=$?"'
  assert_success
  assert_line "unshare=1"
  assert_line "mount=1"
  assert_output --partial "unshare(0x10000000): Operation not permitted"
  assert_output --partial "mount: permission denied"
}

@test "the filter, not a capability, is what refuses unshare -U" {
  require_seccomp
  require_userns
  run run_flags --security-opt seccomp=unconfined img unshare -U true
  assert_success
}

@test "seccomp=unconfined and no-new-privileges=false turn the defaults off" {
  run run_flags --security-opt seccomp=unconfined --security-opt no-new-privileges=false img \
    sh -c "$STATUS_SCRIPT"
  assert_success
  assert_line "NoNewPrivs:0"
  assert_line "Seccomp:0"
}

@test "seccomp=FILE: a Docker-format profile is applied" {
  require_seccomp
  cat >"$BATS_TEST_TMPDIR/profile.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
  run run_flags --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" img sh -c 'mkdir /tmp/d || echo refused'
  assert_success
  assert_line refused
  assert_output --partial "Permission denied"

  echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$BATS_TEST_TMPDIR/profile.json"
  run spec --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" img true
  assert_failure 125
  assert_output "Error: --security-opt seccomp=$BATS_TEST_TMPDIR/profile.json: defaultAction: unknown action \"SCMP_ACT_NOPE\""
}

@test "defaults: masked and read-only /proc and /sys paths" {
  local p checks=""
  for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
    [[ -e $p ]] && checks+="echo $p=\$(cat $p | wc -c); "
  done
  [[ -n $checks ]] || skip "none of the masked /proc files exists on this kernel"
  run run_flags img sh -c "$checks"' ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname || echo ro-sys'
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
  run run_flags img sh -c "$script"
  assert_success
  assert_output 4096
  run run_flags --pids-limit 100 img sh -c "$script"
  assert_success
  assert_output 100
  run run_flags --pids-limit -1 img sh -c "$script"
  assert_success
  assert_output max
}

@test "init: PID 1 is berth's init, it reaps orphans and returns the command's status" {
  run run_flags img sh -c 'sh -c "sleep 0.2 & exit 0"; sleep 1; ps -o pid,stat,comm'
  assert_success
  assert_line --regexp '^ +1 .* berth-init$'
  refute_output --regexp ' Z '
  run run_flags img sh -c 'exit 7'
  assert_failure 7
  run run_flags --init=false img sh -c 'echo $$'
  assert_success
  assert_output 1
}

@test "init: SIGTERM reaches a shell-form command at once" {
  spec img sh -c 'sleep 100'
  create_container
  runtime start "$CID"
  wait_status "$CID" running
  local start=$SECONDS
  runtime kill "$CID" TERM
  wait_status "$CID" stopped
  ((SECONDS - start < 3)) || fail "the container took $((SECONDS - start))s to stop"
  runtime delete "$CID"
}

@test "--privileged: every capability berth holds, no seccomp filter" {
  local host_bnd
  host_bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  run run_flags --privileged img sh -c "$STATUS_SCRIPT"
  assert_success
  assert_line "CapEff:$host_bnd"
  assert_line "Seccomp:0"
}

@test "-u 1000:1000 and --group-add; -u NAME from the container's passwd" {
  run run_flags -u 1000:1000 --group-add 100 --group-add 4242 img sh -c 'id; grep ^CapEff /proc/self/status'
  assert_success
  assert_line --index 0 "uid=1000(app) gid=1000(app) groups=100(users),4242"
  assert_line --index 1 --regexp 'CapEff:	0+$'
  run run_flags -u app img id
  assert_success
  assert_output "uid=1000(app) gid=1000(app) groups=100(users)"
  run spec -u ghost img id
  assert_failure 125
  assert_output "Error: unable to find user ghost: no matching entries in passwd file"
}

@test "env, workdir, entrypoint and cmd follow Docker's rules" {
  image_config '{"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FOO=image", "BAR=image"],
                 "Entrypoint": ["/bin/echo", "ep"], "Cmd": ["c1", "c2"], "WorkingDir": "/etc"}'
  run run_flags img
  assert_success
  assert_output "ep c1 c2"
  run run_flags img x y
  assert_success
  assert_output "ep x y"
  run run_flags --entrypoint /bin/pwd img
  assert_success
  assert_output /etc
  run run_flags --entrypoint /bin/pwd -w /tmp img
  assert_success
  assert_output /tmp
  printf 'BAR=file\n# comment\nBAZ=file\n' >"$BATS_TEST_TMPDIR/env"
  run run_flags --entrypoint "" --env-file "$BATS_TEST_TMPDIR/env" -e FOO=flag img \
    sh -c 'echo "$FOO $BAR $BAZ $HOSTNAME $HOME"'
  assert_success
  assert_output "flag file file ${CID:0:12} /root"
}

@test "--read-only root; strict profile adds a tmpfs /tmp and drops every capability" {
  run run_flags img sh -c 'touch /x && echo wrote'
  assert_success
  assert_output wrote
  run run_flags --read-only img sh -c 'touch /x || echo refused'
  assert_line refused
  assert_output --partial "Read-only file system"

  run spec --security-profile strict img true
  assert_failure 125
  assert_output "Error: strict profile: a memory limit is required; add --memory (e.g. --memory 512m)"
  run spec --security-profile strict --memory 64m --pids-limit 64 img true
  assert_failure 125
  assert_output "Error: strict profile: the container would run as root; add USER to the image or pass --user"
  run run_flags --security-profile strict --memory 64m --pids-limit 64 -u 1000 img \
    sh -c 'touch /x 2>/dev/null || echo ro-root; touch /tmp/x && echo tmp-ok; grep ^CapBnd /proc/self/status'
  assert_success
  assert_line ro-root
  assert_line tmp-ok
  assert_line --regexp 'CapBnd:	0+$'
}

@test "volumes, binds, tmpfs and --ulimit as the container sees them" {
  mkdir -p "$BATS_TEST_TMPDIR/host"
  echo from-host >"$BATS_TEST_TMPDIR/host/f"
  run run_flags -v "$BATS_TEST_TMPDIR/host:/data:ro" -v named:/vol --tmpfs /scratch:size=1m \
    --ulimit nofile=512:1024 img \
    sh -c 'cat /data/f; touch /data/g || echo bind-ro; echo v > /vol/v; grep " /scratch " /proc/mounts; ulimit -n; ulimit -Hn'
  assert_success
  assert_line from-host
  assert_line bind-ro
  assert_line --regexp '^tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,.*size=1024k'
  assert_line 512
  assert_line 1024
  [[ $(cat "$BATS_TEST_TMPDIR/volumes/named/v") == v ]] || fail "the volume did not receive the file"
}

@test "bad flag values: one message naming the flag, exit 125" {
  run spec -v "/h:relative" img true
  assert_failure 125
  assert_output "Error: invalid argument \"/h:relative\" for \"-v, --volume\" flag: invalid mount path: 'relative' mount path must be absolute"
  run spec --memory 12q img true
  assert_failure 125
  assert_output "Error: invalid argument \"12q\" for \"-m, --memory\" flag: invalid size: '12q'"
  run spec --cap-add FLY img true
  assert_failure 125
  assert_output "Error: invalid argument \"FLY\" for \"--cap-add\" flag: unknown capability: \"CAP_FLY\""
  [[ ! -e $BUNDLE/config.json ]] || fail "a config.json was written for a bad flag"
}

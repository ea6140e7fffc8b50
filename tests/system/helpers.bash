# Shared setup for the `berth runtime` system tests.
#
# Every test gets a fresh state root ($STATE), a bundle ($BUNDLE with $ROOTFS, a busybox-static
# root filesystem) and a container id ($CID; extra containers of the same test use "$CID-x").
# The teardown deletes every container still in $STATE and then fails the test if anything
# is left behind: a state directory, a cgroup, a mount or a process.
#
# Environment:
#   BERTH             absolute path of the berth binary (set by `make system`)
#   BERTH_TOOLS       directory of the test tools (recvtty)
#   BERTH_RUNTIME_CMD optional: another runc-compatible CLI to cross-check the tests with
#                     (words split on blanks), e.g. "runc"; default "$BERTH runtime". On a
#                     hybrid cgroup host runc and crun refuse to start; a wrapper script that
#                     runs them under `unshare -m --propagation unchanged` after
#                     `umount -l /sys/fs/cgroup/unified` makes them see plain cgroup v1.
#                     Tests of berth's own messages fail with them; that is expected.

bats_require_minimum_version 1.5.0
BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats:/usr/local/lib/bats}
bats_load_library bats-support
bats_load_library bats-assert
source "$BATS_TEST_DIRNAME/json_array.bash"

# A hung runtime fails the test instead of the suite.
: "${BATS_TEST_TIMEOUT:=120}"
# Upper bound for one runtime command.
RUNTIME_TIMEOUT=${RUNTIME_TIMEOUT:-60}

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

if [[ -n ${BERTH_RUNTIME_CMD:-} ]]; then
  read -ra RUNTIME <<<"$BERTH_RUNTIME_CMD"
else
  RUNTIME=("${BERTH:-berth-not-set}" runtime)
fi
RECVTTY=${BERTH_TOOLS:-$REPO_ROOT/build/release/tests/tools}/recvtty
SECCOMP_AGENT=${BERTH_TOOLS:-$REPO_ROOT/build/release/tests/tools}/seccomp_agent

# --- the runtime ------------------------------------------------------------------------

# runtime ARGS...: the CLI under test with this test's state root. A terminal on stdin (bats
# started by hand) is replaced by /dev/null: timeout runs the command in its own process
# group, where reading the terminal would stop it.
runtime() {
  if [[ -t 0 ]]; then
    timeout -k 5 "$RUNTIME_TIMEOUT" "${RUNTIME[@]}" --root "$STATE" "$@" </dev/null
  else
    timeout -k 5 "$RUNTIME_TIMEOUT" "${RUNTIME[@]}" --root "$STATE" "$@"
  fi
}

# Whether the CLI under test is berth (some checks are on berth's own messages).
is_berth() {
  [[ -z ${BERTH_RUNTIME_CMD:-} ]]
}

# --- config.json ------------------------------------------------------------------------

# config_set [JQ OPTIONS] FILTER: edits $BUNDLE/config.json in place with jq.
config_set() {
  local cfg=$BUNDLE/config.json
  jq "$@" "$cfg" >"$cfg.tmp" || {
    rm -f "$cfg.tmp"
    fail "config_set: jq $* failed"
  }
  mv "$cfg.tmp" "$cfg"
}


# config_args ARG...: sets process.args.
config_args() {
  config_set --argjson a "$(json_array "$@")" '.process.args = $a'
}

# config_sh SCRIPT: process.args = /bin/sh -c SCRIPT.
config_sh() {
  config_args /bin/sh -c "$1"
}

# config_get FILTER: prints a value of $BUNDLE/config.json.
config_get() {
  jq -r "$1" "$BUNDLE/config.json"
}

# add_mount DESTINATION TYPE SOURCE [OPTION...]: appends to .mounts.
add_mount() {
  local dest=$1 type=$2 src=$3
  shift 3
  config_set --arg d "$dest" --arg t "$type" --arg s "$src" --argjson o "$(json_array "$@")" \
    '.mounts += [{destination: $d, type: $t, source: $s, options: $o}]'
}

# add_namespace TYPE [PATH]: adds (or replaces) a namespace in linux.namespaces.
add_namespace() {
  if [[ -n ${2:-} ]]; then
    config_set --arg t "$1" --arg p "$2" \
      '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t, path: $p}])'
  else
    config_set --arg t "$1" \
      '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t}])'
  fi
}

# remove_namespace TYPE
remove_namespace() {
  config_set --arg t "$1" '.linux.namespaces |= map(select(.type != $t))'
}

# --- containers -------------------------------------------------------------------------

# run_container [RUN FLAGS...]: `runtime run` of $BUNDLE as $CID in the foreground.
run_container() {
  runtime run --bundle "$BUNDLE" "$@" "$CID"
}

# run_sh SCRIPT [RUN FLAGS...]: runs /bin/sh -c SCRIPT in the foreground (use with `run`).
run_sh() {
  local script=$1
  shift
  config_sh "$script"
  run_container "$@"
}

# create_container [ID [CREATE FLAGS...]]: `runtime create`; the container's stdio goes to
# $BATS_TEST_TMPDIR/ID.log (never to a pipe of `run`, which would wait for the container).
create_container() {
  local id=${1:-$CID}
  shift || true
  runtime create --bundle "$BUNDLE" "$@" "$id" </dev/null >"$BATS_TEST_TMPDIR/$id.log" 2>&1 3>&- ||
    fail "create $id failed: $(cat "$BATS_TEST_TMPDIR/$id.log")"
  record_pid "$id"
}

# start_sh SCRIPT [ID]: create + start of /bin/sh -c SCRIPT; returns once it is running.
start_sh() {
  local id=${2:-$CID}
  config_sh "$1"
  create_container "$id"
  runtime start "$id" || fail "start $id failed"
  wait_status "$id" running stopped
}

# container_state ID [FILTER]: a field of `runtime state ID` (default: the status).
container_state() {
  runtime state "$1" | jq -r "${2:-.status}"
}

# wait_status ID STATUS... : waits (10 s) until the container's status is one of STATUS.
wait_status() {
  local id=$1 s
  shift
  local i
  for ((i = 0; i < 200; i++)); do
    s=$(container_state "$id" 2>/dev/null) || s=none
    local want
    for want in "$@"; do
      [[ $s == "$want" ]] && return 0
    done
    sleep 0.05
  done
  fail "container $id: status is '$s', expected one of: $*"
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_until() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 20; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  fail "timed out after ${secs}s waiting for: $*"
}

# wait_file PATH [SECONDS]: waits until PATH exists (written from inside the container).
wait_file() {
  wait_until "${2:-10}" test -e "$1"
}

# record_pid ID: remembers the container's host pid so the teardown can check it is gone.
record_pid() {
  local pid
  pid=$(container_state "$1" .pid 2>/dev/null) || return 0
  [[ $pid =~ ^[1-9][0-9]*$ ]] && echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
  return 0
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  local st
  st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

# --- environment checks -----------------------------------------------------------------

# require_cgroup CONTROLLER: skips unless the controller is usable (v1 hierarchy or v2).
require_cgroup() {
  if [[ -d /sys/fs/cgroup/$1 ]] && [[ $(stat -f -c %T "/sys/fs/cgroup/$1") == cgroupfs ]]; then
    return 0
  fi
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw "$1" /sys/fs/cgroup/cgroup.controllers; then
    return 0
  fi
  skip "cgroup controller $1 is not available on this machine"
}

# cgroup_v2: true on a pure cgroup v2 host (the container then sees a unified hierarchy).
cgroup_v2() {
  [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]
}

require_userns() {
  local max
  max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null) || max=0
  ((max > 0)) || skip "user namespaces are disabled (user.max_user_namespaces=0)"
  unshare -U true 2>/dev/null || skip "unshare -U does not work here"
}

require_seccomp() {
  grep -q '^Seccomp:' /proc/self/status || skip "the kernel has no seccomp support"
  [[ -e /proc/sys/kernel/seccomp/actions_avail ]] || skip "the kernel has no seccomp filters"
}

require_recvtty() {
  [[ -x $RECVTTY ]] || fail "recvtty not built at $RECVTTY (set BERTH_TOOLS)"
}

# make_traversable DIR: lets every uid search DIR's ancestors (bats' temp dirs are 0700),
# so a container whose root is mapped to an unprivileged host uid can reach its bundle.
make_traversable() {
  local d=$1
  while [[ $d != / && -n $d ]]; do
    chmod o+x "$d"
    d=$(dirname "$d")
  done
}

# --- setup and teardown -----------------------------------------------------------------

runtime_setup_file() {
  if [[ -z ${BERTH_RUNTIME_CMD:-} ]]; then
    [[ ${BERTH:-} == /* && -x ${BERTH:-} ]] ||
      fail "set BERTH to the absolute path of the berth binary (make system does)"
  fi
  "$REPO_ROOT/scripts/make-rootfs" "$BATS_FILE_TMPDIR/rootfs"
  mkdir -p "$BATS_FILE_TMPDIR/spec"
  rm -f "$BATS_FILE_TMPDIR/spec/config.json"
  timeout 30 "${RUNTIME[@]}" --root "$BATS_FILE_TMPDIR/state" spec --bundle "$BATS_FILE_TMPDIR/spec" ||
    fail "runtime spec failed"
  # The base config of every test: runc's default spec, no terminal, a writable root (the
  # tests that want a read-only root say so), the host name the tests expect.
  jq '.process.terminal = false | .root.path = "rootfs" | .root.readonly = false
      | .hostname = "berth-test"' \
    "$BATS_FILE_TMPDIR/spec/config.json" >"$BATS_FILE_TMPDIR/config.json"
}

runtime_setup() {
  STATE=$BATS_TEST_TMPDIR/state
  BUNDLE=$BATS_TEST_TMPDIR/bundle
  ROOTFS=$BUNDLE/rootfs
  CID=bt${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}-$$
  mkdir -p "$BUNDLE"
  # A fresh tree per test: directories and /etc are copied, the busybox binary and the
  # applet links (which no test writes) are hard links.
  cp -al "$BATS_FILE_TMPDIR/rootfs" "$ROOTFS"
  rm -rf "${ROOTFS:?}/etc"
  cp -a "$BATS_FILE_TMPDIR/rootfs/etc" "$ROOTFS/etc"
  cp "$BATS_FILE_TMPDIR/config.json" "$BUNDLE/config.json"
}

# Deletes what the test left running, then fails the test if any trace of its containers
# remains. Leftovers are removed after they are reported so that later tests start clean.
runtime_teardown() {
  [[ -n ${STATE:-} ]] || return 0
  local problems=() id ids

  if ids=$(runtime list -q 2>&1); then
    if [[ -n $ids ]]; then
      for id in $ids; do
        runtime delete --force "$id" >/dev/null 2>&1 || problems+=("delete --force $id failed")
      done
      ids=$(runtime list -q 2>&1) || problems+=("list -q failed: $ids")
      [[ -z $ids ]] || problems+=("containers still listed after delete --force: $ids")
    fi
  else
    problems+=("list -q failed: $ids")
  fi

  # State: nothing named after the test's containers under the state root.
  local left
  if [[ -d $STATE ]]; then
    left=$(find "$STATE" \( -name "$CID" -o -name "$CID-*" \) -print 2>/dev/null)
    [[ -z $left ]] || problems+=("state left behind: $left")
  fi

  # Processes: every container init the test saw must be gone.
  local pid i cmd
  if [[ -f $BATS_TEST_TMPDIR/pids ]]; then
    while read -r pid; do
      for ((i = 0; i < 40; i++)); do
        pid_alive "$pid" || break
        sleep 0.05
      done
      if pid_alive "$pid"; then
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || true
        problems+=("process $pid ($cmd) still running")
        kill -9 "$pid" 2>/dev/null || true
      fi
    done <"$BATS_TEST_TMPDIR/pids"
  fi

  # Cgroups: the default cgroupsPath is /berth/<id>; runc's is /<id>; one level deeper for
  # tests that set their own path.
  local cg cgs=()
  local -A seen=()
  shopt -s nullglob
  for cg in /sys/fs/cgroup/{,*/,*/*/}{berth/,}{"$CID","$CID"-*}; do
    [[ -d $cg && -z ${seen[$cg]:-} ]] && cgs+=("$cg") && seen[$cg]=1
  done
  shopt -u nullglob
  if ((${#cgs[@]})); then
    problems+=("cgroups left behind: ${cgs[*]}")
    local d
    for cg in "${cgs[@]}"; do
      while IFS= read -r d; do
        xargs -r kill -9 <"$d/cgroup.procs" 2>/dev/null || true
        rmdir "$d" 2>/dev/null || true
      done < <(find "$cg" -depth -type d 2>/dev/null)
    done
  fi

  # Mounts: nothing in this mount namespace may refer to the test's bundle, state or ids.
  local mounts
  mounts=$(grep -F -e "$BATS_TEST_TMPDIR" -e "/$CID/" -e "/$CID " -e "/$CID-" /proc/self/mountinfo || true)
  if [[ -n $mounts ]]; then
    problems+=("mounts left behind:"$'\n'"$mounts")
    local mp
    while IFS= read -r mp; do
      umount -l "$mp" 2>/dev/null || true
    done < <(awk '{ print $5 }' <<<"$mounts" | sort -r)
  fi

  if ((${#problems[@]})); then
    { echo "teardown found leftovers:"; printf '  %s\n' "${problems[@]}"; } | fail
  fi
}

# Files override these and call the runtime_* functions when they need more.
setup_file() { runtime_setup_file; }
setup() { runtime_setup; }
teardown() { runtime_teardown; }

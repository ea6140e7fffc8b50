# Shared setup for the image system tests (images_*.bats).
#
# Every test gets a fresh store ($ROOT, $RUNROOT) and Docker client config dir ($CONFIG).
# $BUSYBOX_TAR is a busybox-static rootfs tarball made once per file. start_registry starts
# Debian's docker-registry on 127.0.0.1 (optionally with htpasswd auth) for the file; it is
# stopped by teardown_file. The teardown fails a test that leaves a mount behind.
#
# Environment: BERTH (absolute path of the berth binary, set by `make system`).

bats_require_minimum_version 1.5.0
BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats:/usr/local/lib/bats}
bats_load_library bats-support
bats_load_library bats-assert
source "$BATS_TEST_DIRNAME/json_array.bash"

: "${BATS_TEST_TIMEOUT:=300}"
REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# berth ARGS...: the CLI with this test's store. $BERTH_PREFIX, when set, is a command that
# runs it (a test tool).
berth() {
  timeout -k 5 240 ${BERTH_PREFIX:-} "${BERTH:-berth-not-set}" --root "$ROOT" --runroot "$RUNROOT" --config "$CONFIG" "$@"
}

image_setup() {
  ROOT=$BATS_TEST_TMPDIR/root
  RUNROOT=$BATS_TEST_TMPDIR/run
  CONFIG=$BATS_TEST_TMPDIR/docker-config
  STATE=$BATS_TEST_TMPDIR/runtime-state
  mkdir -p "$ROOT" "$RUNROOT" "$CONFIG"
}

image_teardown() {
  local m left=()
  while read -r m; do left+=("$m"); done < <(awk -v p="$BATS_TEST_TMPDIR" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo)
  for m in "${left[@]}"; do umount -l "$m" 2>/dev/null || true; done
  if [ -d "$STATE" ]; then
    local id
    for id in $("$BERTH" runtime --root "$STATE" list -q 2>/dev/null); do
      "$BERTH" runtime --root "$STATE" delete -f "$id" >/dev/null 2>&1 || true
    done
  fi
  [ ${#left[@]} -eq 0 ] || fail "mounts left behind: ${left[*]}"
}

# make_busybox_tar PATH: a busybox-static root filesystem as a tarball.
make_busybox_tar() {
  local dir
  dir=$(mktemp -d "$BATS_FILE_TMPDIR/rootfs.XXXXXX")
  "$REPO_ROOT/scripts/make-rootfs" "$dir" >/dev/null
  tar --numeric-owner -C "$dir" -cf "$1" .
  rm -rf "$dir"
}

# run_image IMAGE CMD...: runs CMD in a container of IMAGE through `image mount` and
# `berth runtime run`, printing its output. (`berth run` arrives with the container engine.)
run_image() {
  local image=$1 rootfs bundle
  shift
  rootfs=$(berth image mount "$image") || return 1
  bundle=$(mktemp -d "$BATS_TEST_TMPDIR/bundle.XXXXXX")
  (cd "$bundle" && "$BERTH" runtime spec) || return 1
  jq --arg root "$rootfs" --argjson args "$(json_array "$@")" \
    '.root.path = $root | .root.readonly = true | .process.terminal = false | .process.args = $args' \
    "$bundle/config.json" >"$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
  local rc=0
  "$BERTH" runtime --root "$STATE" run -b "$bundle" "img-$$-$RANDOM" </dev/null || rc=$?
  berth image unmount "$image" || return 1
  return $rc
}

# start_registry [htpasswd]: docker-registry on 127.0.0.1 for this file; sets REGISTRY.
start_registry() {
  local dir=$BATS_FILE_TMPDIR/registry port try auth=""
  mkdir -p "$dir/data"
  if [ "${1:-}" = htpasswd ]; then
    htpasswd -Bbn tester s3cret >"$dir/htpasswd"
    auth="auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd"
  fi
  for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YML
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    local i
    for i in $(seq 50); do
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
      if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        export REGISTRY=127.0.0.1:$port
        return 0
      fi
      sleep 0.1
    done
    kill "$(cat "$dir/pid")" 2>/dev/null || true
  done
  cat "$dir/log" >&2
  return 1
}

stop_registry() {
  local pidfile=$BATS_FILE_TMPDIR/registry/pid
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  wait "$(cat "$pidfile")" 2>/dev/null || true
}

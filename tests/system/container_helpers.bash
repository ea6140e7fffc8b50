# Shared setup for the container system tests (containers_*.bats, run_defaults.bats).
#
# Every test gets a fresh store ($ROOT, $RUNROOT) holding "busybox", a busybox-static image
# with CMD ["sh"] imported from a rootfs tarball made once per file. The teardown removes
# every container (so monitors exit), then fails the test if a mount, a monitor or a
# container process is left behind.

load image_helpers

container_setup_file() {
  # Containers join berth's default bridge: its interfaces and nftables rules must be made in a
  # network namespace of the test run's own, never on the machine's.
  [ -n "${BERTH_TEST_NETNS:-}" ] || skip "containers need their own network namespace: run scripts/in-netns bats ..."
  BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
  export BUSYBOX_TAR
}

container_setup() {
  image_setup
  berth import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$BUSYBOX_TAR" busybox >/dev/null ||
    fail "import busybox"
}

# Monitors of this test's store still alive (their command line names $ROOT).
monitors_left() {
  pgrep -f -- "monitor $ROOT " || true
}

container_teardown() {
  local ids
  ids=$(berth ps -aq --no-trunc 2>/dev/null || true)
  [ -z "$ids" ] || berth rm -f $ids >/dev/null 2>&1 || true
  local i
  for i in $(seq 50); do
    [ -z "$(monitors_left)" ] && break
    sleep 0.1
  done
  # The host side of this store's networks: the bridges, berth's nftables table, the DNS servers.
  berth network prune -f >/dev/null 2>&1 || true
  ip link del berth0 2>/dev/null || true
  nft delete table ip berth 2>/dev/null || true
  local left
  left=$(monitors_left)
  if [ -n "$left" ]; then
    kill -9 $left 2>/dev/null || true
    image_teardown
    fail "monitors left behind: $left"
  fi
  image_teardown
}

# wait_for CMD...: retries CMD for up to 10 s (every 0.1 s) until it succeeds.
wait_for() {
  local i
  for i in $(seq 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  "$@"
}

# state_of CONTAINER: its State.Status.
state_of() {
  berth inspect -f '{{.State.Status}}' "$1"
}

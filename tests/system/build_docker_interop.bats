#!/usr/bin/env bats
# Same results as Docker: each Dockerfile in dockerfiles/<name>/ (node- and python-style dev
# and prod patterns and a file of forms and inheritance, all on a local busybox base imported
# under the same name into both) is built by `berth build` and by `docker build` (the legacy
# builder, and BuildKit when this Docker has it), and the image config fields User, Env, Cmd,
# Entrypoint, WorkingDir, ExposedPorts, Healthcheck, Labels, StopSignal and Volumes must be
# equal. The berth-built image then runs under berth, and under Docker after
# `berth save | docker load`, printing dockerfiles/<name>/expected-output.
#
# A private dockerd (Debian's docker.io) is started for this file and stopped at its end; the
# file skips with the reason when it is missing or does not start. Runs containers: needs
# scripts/in-netns.

load container_helpers
load dockerd_helpers

DOCKERFILES=$BATS_TEST_DIRNAME/dockerfiles
BASE=interop-base:1
BASE_CHANGES=(-c 'CMD ["sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin')
BUILD_ARGS=(--build-arg APP_VERSION=1.2.3)

setup_file() {
  container_setup_file
  start_private_dockerd
  [ -z "${DOCKER_SKIP:-}" ] || return 0
  local d=$BATS_FILE_TMPDIR/dockerd
  "$DOCKER" import "${BASE_CHANGES[@]}" "$BUSYBOX_TAR" "$BASE" >/dev/null
  # BuildKit: Debian's docker.io 20.10 client has it built in; a Docker without it only
  # compares with the legacy builder (said on fd 3).
  local probe=$BATS_FILE_TMPDIR/probe
  mkdir -p "$probe"
  printf 'FROM %s\nRUN true\nLABEL probe=1\n' "$BASE" >"$probe/Dockerfile"
  if DOCKER_BUILDKIT=1 "$DOCKER" build --network none -q -t interop-probe "$probe" >"$d/buildkit-probe" 2>&1; then
    export BUILDKIT=1
    echo "# comparing with Docker $("$DOCKER" version -f '{{.Server.Version}}'): legacy builder and BuildKit" >&3
  else
    export BUILDKIT=
    echo "# BuildKit not available, legacy builder only: $(tail -n 2 "$d/buildkit-probe" | tr '\n' ' ')" >&3
  fi
}

teardown_file() { stop_private_dockerd; }

setup() {
  [ -z "${DOCKER_SKIP:-}" ] || skip "$DOCKER_SKIP"
  image_setup
  berth import "${BASE_CHANGES[@]}" "$BUSYBOX_TAR" "$BASE" >/dev/null || fail "import $BASE into berth"
}
teardown() { container_teardown; }

# The compared fields of an image's config, from `image inspect` (a JSON array), keys sorted
# (Docker writes maps sorted; an object's key order carries no meaning). Nothing is normalised:
# the legacy builder and BuildKit agree on every field for these Dockerfiles, null vs {} included.
CONFIG_FIELDS='.[0].Config | {User, Env, Cmd, Entrypoint, WorkingDir, ExposedPorts, Healthcheck, Labels, StopSignal, Volumes}'

berth_config() { berth image inspect "$1" | jq -S "$CONFIG_FIELDS"; }
docker_config() { "$DOCKER" image inspect "$1" | jq -S "$CONFIG_FIELDS"; }

# same_config NAME BUILDER: fails showing the diff when berth's and Docker's configs differ.
same_config() {
  local name=$1 builder=$2
  berth_config "berth-$name:1" >"$BATS_TEST_TMPDIR/berth.json" || fail "berth image inspect berth-$name:1"
  docker_config "docker-$name:$builder" >"$BATS_TEST_TMPDIR/docker-$builder.json" ||
    fail "docker image inspect docker-$name:$builder"
  run diff -u --label "docker build ($builder)" --label "berth build" \
    "$BATS_TEST_TMPDIR/docker-$builder.json" "$BATS_TEST_TMPDIR/berth.json"
  [ "$status" -eq 0 ] || fail "$name: image config differs from Docker's ($builder builder):
$output"
}

# interop NAME: builds dockerfiles/NAME with berth and Docker, compares the configs, runs the
# berth-built image under berth and (after save | load) under Docker.
interop() {
  local name=$1 ctx=$DOCKERFILES/$1 expected extra=() flags
  expected=$(cat "$ctx/expected-output")
  # dockerfiles/NAME/build-flags: one line of more flags for both builders, split at spaces.
  [ ! -f "$ctx/build-flags" ] || read -ra extra <"$ctx/build-flags"
  flags=("${extra[@]}" "${BUILD_ARGS[@]}")
  run berth build --progress plain "${flags[@]}" -t "berth-$name:1" "$ctx"
  assert_success
  run env DOCKER_BUILDKIT=0 "$DOCKER" build --network none "${flags[@]}" -t "docker-$name:legacy" "$ctx"
  assert_success
  same_config "$name" legacy
  if [ -n "$BUILDKIT" ]; then
    run env DOCKER_BUILDKIT=1 "$DOCKER" build --progress plain --network none "${flags[@]}" -t "docker-$name:buildkit" "$ctx"
    assert_success
    same_config "$name" buildkit
  fi
  # Docker's own image gives the expected output: the expectation is Docker's, not berth's.
  run "$DOCKER" run --rm --network none "docker-$name:legacy"
  assert_success
  assert_output "$expected"

  run berth run --rm "berth-$name:1"
  assert_success
  assert_output "$expected"

  run bash -c "timeout 120 '$BERTH' --root '$ROOT' --runroot '$RUNROOT' save 'berth-$name:1' | '$DOCKER' load"
  assert_success
  assert_output --partial "Loaded image: berth-$name:1"
  [ "$("$DOCKER" image inspect -f '{{.Id}}' "berth-$name:1")" = "$(berth image inspect -f '{{.Id}}' "berth-$name:1")" ]
  run "$DOCKER" run --rm --network none "berth-$name:1"
  assert_success
  assert_output "$expected"
}

@test "build interop: node dev (package files first, ENV, EXPOSE, VOLUME, exec CMD)" {
  interop node-dev
}

@test "build interop: node prod (multi-stage, ARG before FROM, --build-arg, USER app, HEALTHCHECK, ENTRYPOINT + CMD)" {
  interop node-prod
}

@test "build interop: python dev (requirements first, shell-form CMD)" {
  interop python-dev
}

@test "build interop: python prod (venv stage, PATH from ENV, relative WORKDIR, VOLUME list, USER uid:gid, exec HEALTHCHECK)" {
  interop python-prod
}

@test "build interop: substitution (\${VAR:-x} \${VAR:+x}, ARG without default, escapes, --label, none in exec forms)" {
  interop substitution
}

@test "build interop: normalisation (escape directive, WORKDIR . and .., port case and ranges, numeric USER and STOPSIGNAL, ENTRYPOINT [])" {
  interop normalization
}

@test "build interop: forms and inheritance (SHELL, shell ENTRYPOINT clears CMD, HEALTHCHECK NONE, port range, ENV key value)" {
  interop shell-forms
}

#!/usr/bin/env bats
# berth build through the real CLI on a local busybox base: multi-stage builds, the image
# config written, the cache (hits run no container; a change reruns from the first affected
# step), --target, --build-arg, .dockerignore, secrets that never reach a layer or berth.db,
# failures that name their cause and leave nothing behind, a context from stdin, and the built
# image run with `berth run`.

load container_helpers

setup_file() { container_setup_file; }
setup() {
  container_setup
  CTX=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$CTX"
}
teardown() {
  [ -z "${HTTPD_PID:-}" ] || kill "$HTTPD_PID" 2>/dev/null || true
  container_teardown
}

# start_httpd DIR: serves DIR on 127.0.0.1:$PORT (inside the test's network namespace).
start_httpd() {
  PORT=$((20000 + RANDOM % 20000))
  busybox httpd -f -p "127.0.0.1:$PORT" -h "$1" &
  HTTPD_PID=$!
  wait_for busybox wget -q -O /dev/null "http://127.0.0.1:$PORT/"
}

# What a build may leave behind: snapshot directories, build dirs, runtime containers, rows.
leftovers() {
  echo "snapshots=$(ls "$ROOT/snapshots" | grep -cv '^\.' || true)"
  echo "builds=$(ls "$ROOT/builds" "$RUNROOT/builds" 2>/dev/null | grep -cv '^$\|:$' || true)"
  echo "runtime=$(ls "$RUNROOT/runtime" 2>/dev/null | wc -l)"
  echo "images=$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM images')"
  echo "endpoints=$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM network_endpoints')"
  echo "mounts=$(grep -c "$BATS_TEST_TMPDIR" /proc/self/mountinfo || true)"
}

# Lines showing a step's process output ("#5 0.123 text"): a container ran.
ran_container() {
  grep -Eq '^#[0-9]+ [0-9]+\.[0-9]{3} ' <<<"$1"
}

@test "build: multi-stage with COPY --from, a non-root USER and HEALTHCHECK; the config as Docker writes it" {
  echo hello > "$CTX/hello.txt"
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox AS builder
WORKDIR /src
COPY hello.txt .
RUN echo "built from $(cat hello.txt)" > out.txt
FROM busybox
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group
COPY --from=builder --chown=app:app /src/out.txt /app/out.txt
WORKDIR /app
ENV MODE=prod GREETING="hi there"
LABEL org.example.name=app version=1
EXPOSE 8080 9000/udp
VOLUME /data
STOPSIGNAL SIGINT
USER app
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD test -f /app/out.txt
ENTRYPOINT ["cat"]
CMD ["/app/out.txt"]
DF
  run berth build --progress plain -t app:1 -t app:latest "$CTX"
  assert_success
  assert_output --partial '#1 [builder 1/4] FROM busybox'
  assert_output --partial '[stage-1 3/4] COPY --from=builder --chown=app:app /src/out.txt /app/out.txt'
  assert_output --partial 'naming to docker.io/library/app:1 done'
  assert_output --regexp 'writing image sha256:[0-9a-f]{64} done'
  run berth image inspect -f '{{.Config.User}}|{{json .Config.Env}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.WorkingDir}}|{{.Config.StopSignal}}' app:1
  assert_output 'app|["PATH=/usr/sbin:/usr/bin:/sbin:/bin","MODE=prod","GREETING=hi there"]|["cat"]|["/app/out.txt"]|/app|SIGINT'
  run berth image inspect -f '{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{json .Config.Labels}}' app:1
  assert_output '{"8080/tcp":{},"9000/udp":{}}|{"/data":{}}|{"org.example.name":"app","version":"1"}'
  run berth image inspect -f '{{json .Config.Healthcheck}}' app:1
  assert_output '{"Test":["CMD-SHELL","test -f /app/out.txt"],"Interval":5000000000,"Timeout":2000000000,"Retries":4}'
  # The built image runs, as its non-root user, with the file the first stage made.
  run berth run --rm app:1
  assert_success
  assert_output 'built from hello'
  run berth run --rm --entrypoint sh app:1 -c 'id -u; stat -c %U /app/out.txt'
  assert_output $'1000\napp'
  run berth history --format '{{.CreatedBy}}' --no-trunc app:1
  assert_output --partial 'RUN /bin/sh -c echo '"'"'app:x:1000'
  assert_output --partial 'USER app'
}

@test "build: an unchanged rebuild is all CACHED and runs no container; a changed file reruns from its step" {
  echo one > "$CTX/a.txt"
  echo base > "$CTX/b.txt"
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox
RUN echo first step
COPY b.txt /b.txt
RUN echo after-b
COPY a.txt /a.txt
RUN cat /a.txt
DF
  run berth build --progress plain -t cached "$CTX"
  assert_success
  ran_container "$output"
  first=$(berth image inspect -f '{{.Id}}' cached)
  local start end
  start=$(date +%s%N)
  run berth build --progress plain -t cached "$CTX"
  end=$(date +%s%N)
  assert_success
  echo "# cached rebuild: $(((end - start) / 1000000)) ms" >&3
  [ "$(grep -c ' CACHED$' <<<"$output")" -eq 5 ]
  if ran_container "$output"; then fail "a container ran"; fi
  [ "$(berth image inspect -f '{{.Id}}' cached)" = "$first" ]
  # A fully cached rebuild stays well under the 50 ms target (generous bound against load).
  [ $(((end - start) / 1000000)) -lt 250 ]

  echo two > "$CTX/a.txt"
  run berth build --progress plain -t cached "$CTX"
  assert_success
  assert_output --partial $'#2 [2/6] RUN echo first step\n#2 CACHED'
  assert_output --partial $'#4 [4/6] RUN echo after-b\n#4 CACHED'
  assert_output --regexp '#6 [0-9.]+ two'
  run berth run --rm cached cat /a.txt
  assert_output two
  # rmi and prune take the cached layers away: the next build misses cleanly and runs again.
  berth rmi cached >/dev/null
  berth image prune -f >/dev/null
  run berth build --progress plain -t cached "$CTX"
  assert_success
  ran_container "$output"
  refute_output --partial CACHED
  run berth run --rm cached cat /a.txt
  assert_output two
}

@test "build: --target builds only the stages it needs; --build-arg reaches ARG and RUN" {
  cat > "$CTX/Dockerfile" <<'DF'
ARG BASE=busybox
FROM $BASE AS broken
RUN exit 1
FROM ${BASE} AS one
ARG NAME=default
ARG UNSET
ENV GREETING=hello-$NAME
RUN echo "name=$NAME unset=${UNSET:-none}" > /name.txt
FROM one AS two
RUN echo two
DF
  run berth build --progress plain --target one --build-arg NAME=berth -t target "$CTX"
  assert_success
  refute_output --partial 'exit 1'
  refute_output --partial 'echo two'
  run berth run --rm target sh -c 'cat /name.txt; echo $GREETING'
  assert_output $'name=berth unset=none\nhello-berth'
  run berth build --target nosuch "$CTX"
  assert_failure
  assert_output --partial 'target stage "nosuch" could not be found'
}

@test "build: .dockerignore hides files from COPY and from the cache key" {
  mkdir -p "$CTX/src" "$CTX/logs"
  echo code > "$CTX/src/main.txt"
  echo secret > "$CTX/src/local.env"
  echo log > "$CTX/logs/x.log"
  printf 'logs\n**/*.env\n' > "$CTX/.dockerignore"
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox
COPY . /ctx/
DF
  run berth build -q -t ignored "$CTX"
  assert_success
  run berth run --rm ignored find /ctx -type f
  assert_output --partial /ctx/src/main.txt
  refute_output --partial local.env
  refute_output --partial x.log
  # An ignored file changing does not invalidate the COPY.
  echo changed > "$CTX/logs/x.log"
  run berth build --progress plain -t ignored "$CTX"
  assert_output --partial $'#2 [2/2] COPY . /ctx/\n#2 CACHED'
  run berth build --progress plain -t ignored "$CTX/nosuch"
  assert_failure
}

@test "build: a secret is readable by RUN but never reaches a layer, the config, the history or berth.db" {
  local value=s3cr3t-$RANDOM-value sum
  echo -n "$value" > "$BATS_TEST_TMPDIR/token"
  sum=$(echo -n "$value" | md5sum | cut -c1-32)
  cat > "$CTX/Dockerfile" <<DF
FROM busybox
RUN --mount=type=secret,id=token test "\$(md5sum < /run/secrets/token | cut -c1-32)" = $sum && echo secret-ok
RUN --mount=type=secret,id=token,target=/etc/app-token,env=TOKEN test "\$(cat /etc/app-token)" = "\$TOKEN" && echo env-ok
RUN cp /run/secrets/token /copied 2>/dev/null; ls /run /etc > /listing.txt
DF
  run berth build --progress plain --secret id=token,src="$BATS_TEST_TMPDIR/token" -t secret "$CTX"
  assert_success
  assert_output --partial secret-ok
  assert_output --partial env-ok
  run berth run --rm secret sh -c 'ls /run/secrets 2>&1; test -e /etc/app-token && echo present || echo absent; test -e /copied && echo copied'
  assert_output --partial absent
  refute_output --partial copied
  # From the environment too, on a rebuild without the cache.
  export SECRET_ENV=$value
  run berth build --progress plain --no-cache --secret id=token,env=SECRET_ENV -t secret "$CTX"
  assert_success
  assert_output --partial secret-ok
  run berth image inspect secret
  refute_output --partial "$value"
  run berth history --no-trunc secret
  refute_output --partial "$value"
  local blob
  for blob in "$ROOT"/blobs/sha256/*; do
    ! zcat -f "$blob" | grep -aq "$value" || fail "secret found in blob $blob"
  done
  ! grep -raq "$value" "$ROOT/berth.db" "$ROOT/snapshots" || fail "secret found in berth.db or a snapshot"
  # A required secret that was not given fails the step before it runs.
  printf 'FROM busybox\nRUN --mount=type=secret,id=missing,required=true true\n' > "$CTX/Dockerfile"
  run berth build -t missing-secret "$CTX"
  assert_failure
  assert_output --partial 'secret missing: not found'
}

@test "build: a failing RUN shows its output and exit code and leaves nothing behind" {
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox
COPY Dockerfile /Dockerfile
RUN echo about to fail && echo on-stderr >&2 && exit 3
DF
  local before
  before=$(leftovers)
  run berth build --progress plain -t failed "$CTX"
  [ "$status" -eq 1 ]
  assert_output --regexp '#3 [0-9.]+ about to fail'
  assert_output --regexp '#3 [0-9.]+ on-stderr'
  assert_output --partial 'process "/bin/sh -c echo about to fail && echo on-stderr >&2 && exit 3" did not complete successfully: exit code: 3'
  run berth image inspect failed
  assert_failure
  # The COPY layer stays cached (a committed snapshot), nothing else: compare after removing it.
  run leftovers
  assert_line --regexp '^builds=0$'
  assert_line 'runtime=0'
  assert_line 'endpoints=0'
  assert_line 'images=1'
  [ "$(grep mounts= <<<"$output")" = "$(grep mounts= <<<"$before")" ]
  # Only the cached COPY's committed snapshot was added.
  [ "$(grep snapshots= <<<"$output" | cut -d= -f2)" -eq $(( $(grep snapshots= <<<"$before" | cut -d= -f2) + 1 )) ]
}

@test "build: a missing COPY source is named; a syntax error names its line; nothing is tagged" {
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox
COPY missing.txt /missing.txt
DF
  local before
  before=$(leftovers)
  run berth build -t missing "$CTX"
  assert_failure
  assert_output --partial 'missing.txt'
  assert_output --partial 'not found'
  [ "$(leftovers)" = "$before" ]
  printf 'FROM busybox\nRUNN echo\n' > "$CTX/Dockerfile"
  run berth build -t syntax "$CTX"
  assert_failure
  assert_output --partial 'Dockerfile:2'
  run berth image inspect syntax
  assert_failure
}

@test "build: a context from a tar on stdin, --iidfile, --label, -q and --network=none" {
  echo data > "$CTX/data.txt"
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox
COPY data.txt /data.txt
RUN --network=none ip -o link | grep -c ': eth' > /links || true
DF
  run bash -c "tar -C '$CTX' -cf - . | timeout 60 '$BERTH' --root '$ROOT' --runroot '$RUNROOT' build -q --label team=core --iidfile '$BATS_TEST_TMPDIR/iid' -t fromtar -"
  assert_success
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  [ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$output" ]
  run berth run --rm fromtar sh -c 'cat /data.txt; cat /links'
  assert_output $'data\n0'
  run berth image inspect -f '{{json .Config.Labels}}' fromtar
  assert_output '{"team":"core"}'
}

@test "build: ADD of URLs with --checksum: 0600, Last-Modified, cached on the checksum or the content; a mismatch names both digests" {
  local www=$BATS_TEST_TMPDIR/www sum
  mkdir -p "$www/dir"
  echo 'index' > "$www/index.html"
  echo 'remote data' > "$www/dir/data.txt"
  touch -d @1600000000 "$www/dir/data.txt"
  echo 'version 1' > "$www/other.txt"
  start_httpd "$www"
  sum=$(sha256sum "$www/dir/data.txt" | cut -d' ' -f1)
  cat > "$CTX/Dockerfile" <<DF
FROM busybox
ADD --checksum=sha256:$sum http://127.0.0.1:$PORT/dir/data.txt?x=1 /files/
ADD http://127.0.0.1:$PORT/other.txt /other
ADD --chmod=644 http://127.0.0.1:$PORT/dir/data.txt /files/copy
DF
  run berth build --progress plain -t urls "$CTX"
  assert_success
  run berth run --rm urls sh -c 'stat -c "%n %a %Y" /files/data.txt /other /files/copy; cat /files/data.txt /other'
  assert_line '/files/data.txt 600 1600000000'
  assert_line --regexp '^/other 600 [0-9]+$'
  assert_line '/files/copy 644 1600000000'
  assert_line 'remote data'
  assert_line 'version 1'
  # Unchanged remote files: all cached. A changed file without --checksum reruns its step.
  run berth build --progress plain -t urls "$CTX"
  assert_success
  [ "$(grep -c ' CACHED$' <<<"$output")" -eq 3 ]
  echo 'version 2' > "$www/other.txt"
  run berth build --progress plain -t urls "$CTX"
  assert_success
  assert_output --partial $'#2 [2/4] ADD --checksum=sha256:'"$sum"' http://127.0.0.1:'"$PORT"$'/dir/data.txt?x=1 /files/\n#2 CACHED'
  refute_output --partial $'/other\n#3 CACHED'
  run berth run --rm urls cat /other
  assert_output 'version 2'
  # A wrong checksum fails the step, names the URL and both digests, and leaves nothing.
  local wrong=0000000000000000000000000000000000000000000000000000000000000000 before
  printf 'FROM busybox\nADD --checksum=sha256:%s http://127.0.0.1:%s/other.txt /o\n' "$wrong" "$PORT" > "$CTX/Dockerfile"
  before=$(leftovers)
  run berth build -t badsum "$CTX"
  assert_failure
  assert_output --partial "http://127.0.0.1:$PORT/other.txt"
  assert_output --partial "sha256:$wrong"
  assert_output --partial "sha256:$(sha256sum "$www/other.txt" | cut -d' ' -f1)"
  [ "$(leftovers)" = "$before" ]
  run berth image inspect badsum
  assert_failure
  # --checksum belongs to URLs; COPY takes none.
  printf 'FROM busybox\nCOPY http://127.0.0.1:%s/other.txt /o\n' "$PORT" > "$CTX/Dockerfile"
  run berth build "$CTX"
  assert_failure
  assert_output --partial "source can't be a URL for COPY"
}

@test "build: COPY --from with wildcards follows Docker's rules" {
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox AS src
RUN mkdir -p /out/sub/deep /out/lib && echo a > /out/a.txt && echo b > /out/b.txt && echo c > /out/c.log \
 && echo s > /out/sub/s.txt && echo d > /out/sub/deep/d.txt && echo l > /out/lib/libx.so.1
FROM busybox
COPY --from=src /out/*.txt /txt/
COPY --from=src /out/s?b /dirs/
COPY --from=src /out/*/*.txt /nested/
COPY --from=src /out/lib/libx.so.* /out/c.* /mixed/
COPY --from=src /out/c.l[o]g /single
DF
  run berth build --progress plain -t fromglob "$CTX"
  assert_success
  run berth run --rm fromglob sh -c 'cd / && find /txt /dirs /nested /mixed /single | sort'
  assert_output "$(printf '%s\n' /dirs /dirs/deep /dirs/deep/d.txt /dirs/s.txt /mixed /mixed/c.log /mixed/libx.so.1 \
    /nested /nested/s.txt /single /txt /txt/a.txt /txt/b.txt)"
  # No match names the pattern; several files need a directory destination.
  printf 'FROM busybox AS src\nFROM busybox\nCOPY --from=src /bin/nosuch* /x/\n' > "$CTX/Dockerfile"
  run berth build "$CTX"
  assert_failure
  assert_output --partial '"/bin/nosuch*": not found'
  printf 'FROM busybox AS src\nRUN echo 1 > /a1 && echo 2 > /a2\nFROM busybox\nCOPY --from=src /a* /file\n' > "$CTX/Dockerfile"
  run berth build "$CTX"
  assert_failure
  assert_output --partial 'the destination must be a directory and end with a /'
}

@test "build: independent stages build in parallel, with the same result as one at a time" {
  cat > "$CTX/Dockerfile" <<'DF'
FROM busybox AS one
RUN sleep 1 && echo one > /one.txt
FROM busybox AS two
RUN sleep 1 && echo two > /two.txt
FROM busybox
COPY --from=one /one.txt /
COPY --from=two /two.txt /
RUN cat /one.txt /two.txt > /both.txt
DF
  local start end par_ms seq_ms
  start=$(date +%s%N)
  run berth build --progress plain -t par "$CTX"
  end=$(date +%s%N)
  assert_success
  par_ms=$(((end - start) / 1000000))
  # Both sleeps started before either finished (robust against a loaded machine).
  local vs last_start first_done
  vs=$(grep 'RUN sleep 1' <<<"$output" | cut -d' ' -f1 | paste -sd'|')
  last_start=$(grep -n 'RUN sleep 1' <<<"$output" | tail -1 | cut -d: -f1)
  first_done=$(grep -nE "^($vs) DONE" <<<"$output" | head -1 | cut -d: -f1)
  [ "$last_start" -lt "$first_done" ]
  # Progress lines stay whole: every line is "#N ...".
  [ -z "$(grep -v '^#[0-9]' <<<"$output")" ] || fail "a progress line is not whole"
  run berth run --rm par cat /both.txt
  assert_output $'one\ntwo'
  # One stage at a time finds every step of the parallel build in the cache (the same keys)...
  run env BERTH_BUILD_PARALLELISM=1 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --progress plain -t seq "$CTX"
  assert_success
  [ "$(grep -c ' CACHED$' <<<"$output")" -eq 5 ]
  if ran_container "$output"; then fail "a container ran"; fi
  # ...and without the cache it takes the sum of the stages and builds the same image.
  start=$(date +%s%N)
  run env BERTH_BUILD_PARALLELISM=1 "$BERTH" --root "$ROOT" --runroot "$RUNROOT" build --no-cache --progress plain -t seq "$CTX"
  end=$(date +%s%N)
  assert_success
  seq_ms=$(((end - start) / 1000000))
  echo "# two 1 s stages: ${par_ms} ms in parallel, ${seq_ms} ms one at a time" >&3
  [ "$seq_ms" -ge 2000 ]
  [ "$par_ms" -lt $((seq_ms - 700)) ]
  [ "$(berth image inspect -f '{{json .Config}}' seq)" = "$(berth image inspect -f '{{json .Config}}' par)" ]
  run berth run --rm seq cat /both.txt
  assert_output $'one\ntwo'
  # A failing stage cancels the other cleanly: nothing is tagged and nothing is left behind.
  sed -i 's/^RUN sleep 1 && echo two.*/RUN echo failing \&\& exit 7/' "$CTX/Dockerfile"
  sed -i 's/^RUN sleep 1 && echo one.*/RUN sleep 1 \&\& echo one-again > \/one.txt/' "$CTX/Dockerfile"
  local before
  before=$(leftovers)
  run berth build --progress plain -t broken "$CTX"
  assert_failure
  assert_output --partial 'exit code: 7'
  run berth image inspect broken
  assert_failure
  run leftovers
  assert_line 'builds=0'
  assert_line 'runtime=0'
  assert_line 'endpoints=0'
  [ "$(grep mounts= <<<"$output")" = "$(grep mounts= <<<"$before")" ]
  [ "$(grep images= <<<"$output")" = "$(grep images= <<<"$before")" ]
}

#!/usr/bin/env bats
# Images without a registry: import, tag, rmi, history, inspect, save/load, prune, output formats,
# and refusals of bad input that leave nothing behind.

load image_helpers

setup_file() {
  export BUSYBOX_TAR=$BATS_FILE_TMPDIR/busybox.tar
  make_busybox_tar "$BUSYBOX_TAR"
}

setup() { image_setup; }
teardown() { image_teardown; }

blob_count() { find "$ROOT/blobs/sha256" -type f | wc -l; }
snapshot_count() { find "$ROOT/snapshots" -mindepth 1 -maxdepth 1 -type d | wc -l; }

@test "import: a rootfs tarball becomes a named image that runs" {
  run berth import -m "from bats" "$BUSYBOX_TAR" bb:1
  assert_success
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  id=$output
  run berth images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_success
  assert_output "bb:1 ${id:7:12}"
  run berth image inspect --format '{{.Id}} {{.Os}} {{.Architecture}} {{.Comment}}' bb:1
  assert_output "$id linux amd64 from bats"
  run run_image bb:1 /bin/sh -c 'id -u; readlink /bin/ls'
  assert_success
  assert_output $'0\n/bin/busybox'
}

@test "import -c: changes land in the image config; a bad change is refused and stores nothing" {
  run berth import -c 'CMD ["/bin/sh","-c","echo hi"]' -c 'ENV A=1 B="two words"' -c 'EXPOSE 8080' \
    -c 'WORKDIR /srv' -c 'USER 1000:1000' -c 'LABEL team=core' "$BUSYBOX_TAR" bb:changes
  assert_success
  run berth image inspect --format '{{json .Config}}' bb:changes
  assert_success
  [ "$(jq -c .Cmd <<<"$output")" = '["/bin/sh","-c","echo hi"]' ]
  [ "$(jq -c .Env <<<"$output")" = '["A=1","B=two words"]' ]
  [ "$(jq -c .ExposedPorts <<<"$output")" = '{"8080/tcp":{}}' ]
  [ "$(jq -r .WorkingDir <<<"$output")" = /srv ]
  [ "$(jq -r .User <<<"$output")" = 1000:1000 ]
  [ "$(jq -r .Labels.team <<<"$output")" = core ]

  before=$(blob_count)
  run berth import -c 'FROM scratch' "$BUSYBOX_TAR" bb:bad
  assert_failure 1
  assert_output --partial 'FROM'
  run berth images -q bb:bad
  assert_output ""
}

@test "tag and rmi: untag keeps the image, the last name deletes it and collects its layers" {
  id=$(berth import "$BUSYBOX_TAR" bb:1)
  run berth tag bb:1 localhost:5000/team/bb:2
  assert_success
  run berth images --format '{{.Repository}}:{{.Tag}}'
  assert_line bb:1
  assert_line localhost:5000/team/bb:2
  run berth rmi "${id:7:12}"
  assert_failure 1
  assert_output --partial "unable to delete ${id:7:12} (must be forced) - image is referenced in multiple repositories"
  run berth rmi bb:1
  assert_success
  assert_output "Untagged: bb:1"
  [ "$(blob_count)" -gt 0 ]
  run berth rmi localhost:5000/team/bb:2
  assert_success
  assert_line "Untagged: localhost:5000/team/bb:2"
  assert_line "Deleted: $id"
  [ "$(blob_count)" -eq 0 ]
  [ "$(snapshot_count)" -eq 0 ]
  run berth rmi bb:1
  assert_failure 1
  assert_output "Error: No such image: bb:1"
}

@test "history and images: Docker's columns and JSON" {
  berth import -m imported "$BUSYBOX_TAR" bb:1 >/dev/null
  run berth history bb:1
  assert_success
  assert_line --index 0 --regexp '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$'
  assert_line --index 1 --regexp '^[0-9a-f]{12} +(Less than a second|1 second|[0-9]+ seconds) ago +[0-9.]+[kM]B +imported$'
  run berth images
  assert_line --index 0 --regexp '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
  assert_line --index 1 --regexp '^bb +1 +[0-9a-f]{12} +.* ago +[0-9.]+MB$'
  run berth images --format json
  [ "$(jq -r '.Repository + ":" + .Tag' <<<"$output")" = bb:1 ]
  run berth images --format '{{.Nope}}'
  assert_failure 1
  assert_output --partial 'no field "Nope"'
}

@test "save and load: an archive round-trips into a fresh store and runs" {
  id=$(berth import "$BUSYBOX_TAR" bb:1)
  run berth save -o "$BATS_TEST_TMPDIR/bb.tar" bb:1
  assert_success
  tar -tf "$BATS_TEST_TMPDIR/bb.tar" | grep -qx manifest.json
  tar -tf "$BATS_TEST_TMPDIR/bb.tar" | grep -qx index.json
  ROOT=$BATS_TEST_TMPDIR/root2
  run berth load -i "$BATS_TEST_TMPDIR/bb.tar"
  assert_success
  assert_output "Loaded image: bb:1"
  run berth image inspect --format '{{.Id}}' bb:1
  assert_output "$id"
  run run_image bb:1 /bin/echo loaded-ok
  assert_success
  assert_output loaded-ok
  # stdin works as well, compressed too
  ROOT=$BATS_TEST_TMPDIR/root3
  gzip -c "$BATS_TEST_TMPDIR/bb.tar" | berth load
  run berth images -q
  assert_output "${id:7:12}"
}

@test "load: garbage and hostile archives are refused and leave no blob or snapshot" {
  head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
  run berth load -i "$BATS_TEST_TMPDIR/junk"
  assert_failure 1
  assert_output --partial 'load'
  # a layer that climbs out of the root
  dir=$BATS_TEST_TMPDIR/evil
  mkdir -p "$dir/x"
  echo owned >"$dir/x/file"
  tar -C "$dir" -cf "$BATS_TEST_TMPDIR/evil.tar" --transform 's,^x/file,../../escaped,' x/file
  run berth import "$BATS_TEST_TMPDIR/evil.tar" evil:1
  assert_failure 1
  assert_output --partial '../../escaped'
  [ ! -e "$ROOT/../escaped" ] && [ ! -e "$ROOT/escaped" ]
  run berth images -q
  assert_output ""
  [ "$(snapshot_count)" -eq 0 ]
  run berth image prune -f
  [ "$(blob_count)" -eq 0 ]
}

@test "--max-layer-size: a layer that decompresses past the limit is refused, nothing kept" {
  run berth --max-layer-size 1000000 import "$BUSYBOX_TAR" bomb:1
  assert_failure 1
  assert_output --partial 'exceeds the limit of 1000000 bytes'
  run berth images -q
  assert_output ""
  [ "$(snapshot_count)" -eq 0 ]
}

@test "image prune: dangling images go, named ones stay; -a takes all; system df counts them" {
  old=$(berth import "$BUSYBOX_TAR" bb:1)
  new=$(berth import -c 'ENV V=2' "$BUSYBOX_TAR" bb:1)
  run berth images --filter dangling=true -q
  assert_output "${old:7:12}"
  run berth system df
  assert_line --index 1 --regexp '^Images +2 +0 +'
  run berth image prune -f
  assert_success
  assert_line "deleted: $old"
  assert_line --regexp '^Total reclaimed space: '
  run berth images -q
  assert_output "${new:7:12}"
  run berth image prune -a -f
  assert_line "untagged: bb:1"
  assert_line "deleted: $new"
  [ "$(blob_count)" -eq 0 ]
}

@test "a killed import leaves no visible partial blob and the next command cleans up" {
  big=$BATS_TEST_TMPDIR/big
  mkdir -p "$big"
  head -c $((300 << 20)) /dev/urandom >"$big/blob"
  tar -C "$big" -cf "$BATS_TEST_TMPDIR/big.tar" blob
  rm -rf "$big"
  "$BERTH" --root "$ROOT" --runroot "$RUNROOT" import "$BATS_TEST_TMPDIR/big.tar" big:1 &
  pid=$!
  for _ in $(seq 100); do
    [ -n "$(find "$ROOT/ingest" -name data -size +1M 2>/dev/null)" ] && break
    sleep 0.05
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  # every visible blob is whole: its name is its digest
  for f in "$ROOT"/blobs/sha256/*; do
    [ -e "$f" ] || continue
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ]
  done
  [ -n "$(ls -A "$ROOT/ingest")" ]
  # the next command removes the dead ingest (an import is never resumed)
  run berth images -q
  assert_output ""
  [ -z "$(ls -A "$ROOT/ingest")" ]
}

@test "bad references and flags get Docker's errors" {
  run berth tag nosuch:1 x:1
  assert_failure 1
  assert_output "Error: No such image: nosuch:1"
  run berth pull 'Bad/Name'
  assert_failure 1
  assert_output --partial 'repository name must be lowercase'
  run berth images --bogus
  assert_failure 125
  run berth images --filter colour=blue
  assert_failure 1
  assert_output --partial "invalid filter 'colour'"
}

#!/usr/bin/env bats
# Named volumes: `berth volume create | ls | inspect | rm | prune` with Docker's output shapes,
# data that lives until rm, prune with and without -a, and refusals that leave nothing behind.

load image_helpers

setup() { image_setup; }
teardown() { image_teardown; }

# What is under $ROOT/volumes, one entry a line.
volume_dirs() { ls -A "$ROOT/volumes" 2>/dev/null; }

@test "volume create, ls, inspect: Docker's output" {
  run berth volume create --label team=core data
  assert_success
  assert_output data
  run berth volume ls
  assert_success
  assert_output $'DRIVER    VOLUME NAME\nlocal     data'
  run berth volume inspect data
  assert_success
  [ "$(jq length <<<"$output")" = 1 ]
  [ "$(jq -r '.[0] | keys_unsorted | join(",")' <<<"$output")" = CreatedAt,Driver,Labels,Mountpoint,Name,Options,Scope ]
  [ "$(jq -r '.[0].Name' <<<"$output")" = data ]
  [ "$(jq -r '.[0].Driver' <<<"$output")" = local ]
  [ "$(jq -r '.[0].Scope' <<<"$output")" = local ]
  [ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$ROOT/volumes/data/_data" ]
  [ "$(jq -c '.[0].Labels' <<<"$output")" = '{"team":"core"}' ]
  [ "$(jq -c '.[0].Options' <<<"$output")" = '{}' ]
  [[ "$(jq -r '.[0].CreatedAt' <<<"$output")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
  [ "$(stat -c %a "$ROOT/volumes/data/_data")" = 755 ]
  [ "$(stat -c %a "$ROOT/volumes/data")" = 700 ]
  run berth volume inspect -f '{{.Name}} {{.Mountpoint}}' data
  assert_output "data $ROOT/volumes/data/_data"
}

@test "volume create: anonymous names, idempotent re-create, tmpfs options recorded" {
  run berth volume create
  assert_success
  assert_output --regexp '^[0-9a-f]{64}$'
  anon=$output
  run berth volume inspect --format '{{json .Labels}}' "$anon"
  assert_output '{"com.docker.volume.anonymous":""}'

  run berth volume create -o type=tmpfs -o device=tmpfs -o o=size=64m,mode=1777 scratch
  assert_success
  assert_output scratch
  run berth volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=64m,mode=1777 scratch
  assert_success
  assert_output scratch
  run berth volume inspect -f '{{json .Options}}' scratch
  assert_output '{"device":"tmpfs","o":"size=64m,mode=1777","type":"tmpfs"}'
  run berth volume create scratch
  assert_failure 1
  assert_output --partial 'already exists with driver local and different options'
  run berth volume create --name byflag
  assert_output byflag
}

@test "volume ls: -q, filters, --format, natural order" {
  berth volume create v10 >/dev/null
  berth volume create --label env=prod v2 >/dev/null
  berth volume create --label env=dev other >/dev/null
  run berth volume ls -q
  assert_output $'other\nv2\nv10'
  run berth volume ls -q -f name=v
  assert_output $'v2\nv10'
  run berth volume ls -q --filter 'name=^v1'
  assert_output v10
  run berth volume ls -q -f label=env
  assert_output $'other\nv2'
  run berth volume ls -q -f label=env=prod
  assert_output v2
  run berth volume ls -q -f driver=local -f dangling=true
  assert_output $'other\nv2\nv10'
  run berth volume ls -q -f dangling=false
  assert_output ""
  run berth volume ls --format '{{.Name}}:{{.Driver}}:{{.Scope}}:{{.Labels}}' -f name=v2
  assert_output v2:local:local:env=prod
  run berth volume ls --format json -f name=other
  [ "$(jq -r .Name <<<"$output")" = other ]
  [ "$(jq -r .Mountpoint <<<"$output")" = "$ROOT/volumes/other/_data" ]
  [ "$(jq -r .Size <<<"$output")" = 0B ]
  run berth volume ls --format 'table {{.Name}}\t{{.Mountpoint}}' -f name=other
  assert_output "VOLUME NAME   MOUNTPOINT
other         $ROOT/volumes/other/_data"
  run berth volume ls -f bogus=1
  assert_failure 1
  assert_output --partial "Error: invalid filter 'bogus'"
}

@test "volume rm: files in the mountpoint live until rm; rm prints names" {
  berth volume create keep >/dev/null
  mp=$(berth volume inspect -f '{{.Mountpoint}}' keep)
  mkdir "$mp/dir"
  echo hello >"$mp/dir/file"
  run berth volume ls -q
  assert_output keep
  run berth volume create keep
  assert_success
  [ "$(cat "$mp/dir/file")" = hello ]
  run berth volume ls --format '{{.Name}} {{.Size}}'
  assert_output "keep 6B"

  berth volume create second >/dev/null
  run berth volume rm keep nope second
  assert_failure 1
  assert_line keep
  assert_line second
  assert_line 'Error: No such volume: nope'
  [ ! -e "$mp" ]
  [ -z "$(volume_dirs)" ]
  run berth volume rm -f nope
  assert_success
  assert_output nope
  run berth volume ls -q
  assert_output ""
}

@test "volume prune: anonymous only without -a, all unused with -a, label filters, prompt" {
  berth volume create named >/dev/null
  berth volume create --label tier=cache cache >/dev/null
  anon=$(berth volume create)
  head -c 1000 /dev/zero >"$ROOT/volumes/$anon/_data/blob"

  run berth volume prune <<<"n"
  assert_success
  assert_output "WARNING! This will remove anonymous local volumes not used by at least one container.
Are you sure you want to continue? [y/N] "
  [ "$(berth volume ls -q | wc -l)" = 3 ]

  run berth volume prune <<<"y"
  assert_success
  assert_line "Are you sure you want to continue? [y/N] Deleted Volumes:"
  assert_line "$anon"
  assert_line "Total reclaimed space: 1kB"
  run berth volume ls -q
  assert_output $'cache\nnamed'

  run berth volume prune -f
  assert_success
  assert_output "Total reclaimed space: 0B"

  run berth volume prune -a -f --filter label=tier=cache
  assert_success
  assert_output $'Deleted Volumes:\ncache\n\nTotal reclaimed space: 0B'

  run berth volume prune -a -f --filter 'label!=tier'
  assert_output $'Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B'
  run berth volume ls -q
  assert_output ""
  [ -z "$(volume_dirs)" ]

  run berth volume prune -a -f --filter until=1h
  assert_failure 1
  assert_output --partial "Error: invalid filter 'until'"
}

@test "volume prune sweeps a directory a crashed command left without a row" {
  berth volume create real >/dev/null
  mkdir -p "$ROOT/volumes/orphan/_data"
  echo leftover >"$ROOT/volumes/orphan/_data/f"
  run berth volume ls -q
  assert_output real
  run berth volume prune -f
  assert_success
  assert_output "Total reclaimed space: 9B"
  [ "$(volume_dirs)" = real ]
}

@test "volume errors: bad names, unknown volumes, drivers and options exit 1 and leave nothing" {
  for name in a 'a/b' -dash .dot 'sp ace'; do
    run berth volume create -- "$name"
    assert_failure 1
    assert_output --partial 'includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed'
    assert_output --regexp '^Error: create '
  done
  run berth volume create -d nfs v1
  assert_failure 1
  assert_output "Error: create v1: volume driver nfs is not supported (local only)"
  run berth volume create -o size=1g v1
  assert_failure 1
  assert_output --partial 'invalid option: "size"'
  run berth volume create -o type=tmpfs v1
  assert_failure 1
  assert_output 'Error: create v1: missing required option: "device"'
  run berth volume create -o type=nfs -o device=:/export v1
  assert_failure 1
  assert_output --partial 'type=nfs is not supported'
  run berth volume create --name x1 x2
  assert_failure 1
  assert_output --partial 'conflicting options'

  run --separate-stderr berth volume inspect nope
  assert_failure 1
  assert_output "[]"
  [ "$stderr" = "Error: No such volume: nope" ]
  run berth volume rm nope
  assert_failure 1
  assert_output "Error: No such volume: nope"

  run berth volume ls -q
  assert_output ""
  [ -z "$(volume_dirs)" ]
}

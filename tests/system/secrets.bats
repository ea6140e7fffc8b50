#!/usr/bin/env bats
# berth secret create | ls | inspect | rm: Docker's output shapes, values encrypted at rest
# (never in output, berth.db or any file under the root), refusals that store nothing.

load image_helpers

setup() { image_setup; }
teardown() { image_teardown; }

# Files under $ROOT/secrets other than the key: one per stored value.
value_count() { find "$ROOT/secrets" -type f ! -name key 2>/dev/null | wc -l; }

@test "secret create: from a file and from stdin, prints Docker-style IDs" {
  printf 'hunter2-from-file' >"$BATS_TEST_TMPDIR/pw.txt"
  run berth secret create db_password "$BATS_TEST_TMPDIR/pw.txt"
  assert_success
  assert_output --regexp '^[0-9a-z]{25}$'
  file_id=$output

  run berth secret create api-token - <<<"token-from-stdin"
  assert_success
  assert_output --regexp '^[0-9a-z]{25}$'
  [ "$output" != "$file_id" ]

  run berth secret ls --format '{{.ID}} {{.Name}}'
  assert_success
  assert_line "$file_id db_password"
  assert_line --regexp '^[0-9a-z]{25} api-token$'
  [ "${#lines[@]}" -eq 2 ]
  [ "$(value_count)" -eq 2 ]
}

@test "secret ls: Docker's table, -q, --format json and filters" {
  a=$(berth secret create -l env=prod -l tier a.one - <<<"one")
  b=$(berth secret create b_two - <<<"two")
  run berth secret ls
  assert_success
  assert_line --index 0 --regexp '^ID +NAME +DRIVER +CREATED +UPDATED$'
  assert_line --index 1 --regexp "^$a +a\.one +(Less than a second|1 second|[0-9]+ seconds) ago +(Less than a second|1 second|[0-9]+ seconds) ago$"
  assert_line --index 2 --regexp "^$b +b_two +"
  [ "${#lines[@]}" -eq 3 ]

  run berth secret ls -q
  assert_success
  assert_output "$a"$'\n'"$b"

  run berth secret ls --format json
  assert_success
  [ "$(jq -sc '.[0] | [.ID, .Name, .Driver, .Labels]' <<<"$output")" = "[\"$a\",\"a.one\",\"\",\"env=prod,tier=\"]" ]

  run berth secret ls -q -f label=env=prod
  assert_output "$a"
  run berth secret ls -q -f label=tier
  assert_output "$a"
  run berth secret ls -q -f name=b_
  assert_output "$b"
  run berth secret ls -q -f "id=${b:0:5}" -f "id=${a:0:5}"
  assert_output "$a"$'\n'"$b"
  run berth secret ls -f colour=red
  assert_failure 1
  assert_output --partial "Error: invalid filter 'colour'"
}

@test "secret inspect: Docker's JSON array, --format, --pretty, by name, ID or ID prefix" {
  id=$(berth secret create -l env=dev -l rev=2 my_secret - <<<"inspect-me")
  run berth secret inspect my_secret
  assert_success
  [ "$(jq -r 'length' <<<"$output")" = 1 ]
  [ "$(jq -c '.[0] | keys_unsorted' <<<"$output")" = '["ID","Version","CreatedAt","UpdatedAt","Spec"]' ]
  [ "$(jq -r '.[0].ID' <<<"$output")" = "$id" ]
  [ "$(jq -c '.[0].Spec' <<<"$output")" = '{"Name":"my_secret","Labels":{"env":"dev","rev":"2"}}' ]
  [ "$(jq -r '.[0].Version.Index | type' <<<"$output")" = number ]
  jq -r '.[0].CreatedAt' <<<"$output" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z$'

  run berth secret inspect --format '{{.Spec.Name}} {{.ID}}' "$id" "${id:0:8}"
  assert_success
  assert_output "my_secret $id"$'\n'"my_secret $id"

  run berth secret inspect --pretty my_secret
  assert_success
  assert_line --index 0 "ID:              $id"
  assert_line --index 1 "Name:              my_secret"
  assert_line --index 2 "Labels:"
  assert_line --index 3 " - env=dev"
  assert_line --index 4 " - rev=2"
  assert_line --regexp '^Created at: +[0-9-]{10} [0-9:.]+ \+0000 utc$'

  run berth secret inspect my_secret nope
  assert_failure 1
  assert_output --partial "Error: No such secret: nope"
  assert_output --partial "\"Name\": \"my_secret\""
}

@test "secret values: absent from inspect, ls and every file under the root; key 0600" {
  marker="PLAINTEXT-$RANDOM-$RANDOM-do-not-store"
  printf '%s' "$marker" >"$BATS_TEST_TMPDIR/value"
  id=$(berth secret create -l purpose=test leak-check "$BATS_TEST_TMPDIR/value")
  printf '%s' "$marker-stdin" | berth secret create leak-check-2 -

  run berth secret inspect leak-check leak-check-2
  assert_success
  refute_output --partial PLAINTEXT
  run berth secret inspect --pretty leak-check
  refute_output --partial PLAINTEXT
  run berth secret ls --format json
  refute_output --partial PLAINTEXT

  run grep -rl -a PLAINTEXT "$ROOT"
  assert_failure 1
  assert_output ""

  [ "$(stat -c %a "$ROOT/secrets")" = 700 ]
  [ "$(stat -c %a "$ROOT/secrets/key")" = 600 ]
  [ "$(stat -c %s "$ROOT/secrets/key")" = 32 ]
  [ "$(stat -c %a "$ROOT/secrets/$id")" = 600 ]
  # nonce (12) + ciphertext + tag (16)
  [ "$(stat -c %s "$ROOT/secrets/$id")" = $((12 + ${#marker} + 16)) ]
}

@test "secret rm: prints each name, goes on past errors and exits 1, deletes the value file" {
  a=$(berth secret create one - <<<"1")
  berth secret create two - <<<"2" >/dev/null
  berth secret create three - <<<"3" >/dev/null
  run berth secret rm one missing two
  assert_failure 1
  assert_line one
  assert_line two
  assert_line "Error: No such secret: missing"
  [ ! -e "$ROOT/secrets/$a" ]
  [ "$(value_count)" -eq 1 ]
  run berth secret ls --format '{{.Name}}'
  assert_output three

  run berth secret remove three
  assert_success
  assert_output three
  [ "$(value_count)" -eq 0 ]
  [ -f "$ROOT/secrets/key" ]
}

@test "secret create: bad names, duplicates, bad values and drivers give Error and store nothing" {
  for name in -lead trail. 'a b' 'a/b' "$(printf 'n%.0s' {1..65})"; do
    run berth secret create -- "$name" - <<<"value"
    assert_failure 1
    assert_output --partial 'Error: invalid secret name'
    assert_output --partial 'only 64 [a-zA-Z0-9-_.] characters allowed'
  done
  [ "$(value_count)" -eq 0 ]

  berth secret create dup - <<<"first" >/dev/null
  run berth secret create dup - <<<"second"
  assert_failure 1
  assert_output "Error: secret dup already exists"
  [ "$(value_count)" -eq 1 ]

  run berth secret create empty - </dev/null
  assert_failure 1
  assert_output "Error: secret value from stdin: secret data must be larger than 0 and less than 512000 bytes"
  head -c 512000 /dev/zero >"$BATS_TEST_TMPDIR/big"
  run berth secret create big "$BATS_TEST_TMPDIR/big"
  assert_failure 1
  assert_output --partial "less than 512000 bytes"
  run berth secret create nofile "$BATS_TEST_TMPDIR/absent"
  assert_failure 1
  assert_output --partial "Error: error reading content from"
  run berth secret create -d vault viadriver - <<<"x"
  assert_failure 1
  assert_output --partial "not supported"

  [ "$(value_count)" -eq 1 ]
  run berth secret ls --format '{{.Name}}'
  assert_output dup
}

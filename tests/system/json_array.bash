# json_array ARG...: prints the arguments as a JSON array of strings (any bytes but NUL;
# jq 1.6 would take a "-c" after --args for its own option, hence --arg per element).
json_array() {
  local i=0 a jq_args=()
  for a in "$@"; do
    jq_args+=(--arg "a$i" "$a")
    i=$((i + 1))
  done
  jq -nc "${jq_args[@]}" '[$ARGS.named[]]'
}

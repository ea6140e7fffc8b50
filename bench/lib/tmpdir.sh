# Sourced by bench scripts: removes a benchmark's temp dir after unmounting what is mounted
# under it (overlays of both engines, dockerd's data root), deepest first. Leaves the dir and
# says so when something stays mounted.
#
#   remove_tmp_tree DIR LOG_PREFIX

remove_tmp_tree() {
  local dir=$1 prefix=$2 m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done < <(awk -v t="$dir" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  if awk -v t="$dir" '$5 == t || index($5, t "/") == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
    echo "$prefix: something is still mounted under $dir; not removing it" >&2
  else
    rm -rf "$dir"
  fi
}

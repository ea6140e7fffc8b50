#!/bin/sh
# gen.sh DIR N: N small text files in DIR, each a few numbered lines run through sed.
set -eu
dir=$1
n=$2
mkdir -p "$dir"
i=0
while [ "$i" -lt "$n" ]; do
  printf 'file %d\nsquare %d\ncube %d\n' "$i" $((i * i)) $((i * i * i)) | sed "s/^/$i: /" > "$dir/f$i.txt"
  i=$((i + 1))
done

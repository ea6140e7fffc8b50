#!/bin/sh
set -e
echo "entrypoint as $(id -u):$(id -g), deps: $(ls node_modules)"
exec "$@"

#!/bin/sh
# Starts the web server. The greeting secret is read from /run/secrets (a tmpfs, never an
# environment variable or a layer); only its size is logged.
set -e
if [ -r /run/secrets/greeting ]; then
  echo "serve: secret 'greeting' present ($(wc -c </run/secrets/greeting) bytes)"
else
  echo "serve: no secret 'greeting' mounted"
fi
echo "serve: listening on :8080 as $(id -un)"
exec httpd -f -v -p 8080 -h /www

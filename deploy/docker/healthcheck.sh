#!/bin/bash
# The container's health probe: GET http://HOST:PORT/PATH and exit 0 only
# on a 200 answer. bash's /dev/tcp opens the connection, so the image needs
# no curl or wget (bash is in every Debian image).
#
# usage: healthcheck HOST PORT PATH        e.g. 127.0.0.1 9464 /healthz
set -u
host=${1:?host} port=${2:?port} path=${3:?path}
if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
	echo "healthcheck: cannot connect to $host:$port" >&2
	exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' \
    "$path" "$host" >&3
IFS= read -r -t 4 status <&3 || exit 1
exec 3<&-
case "$status" in
'HTTP/1.'[01]' 200 '*) exit 0 ;;
esac
echo "healthcheck: $path answered: ${status%$'\r'}" >&2
exit 1

#!/bin/sh
# The Redis key layout has one home, daemon/keys.c: fails when a string
# literal anywhere else under daemon/ looks like a piece of a key name
# (a hash tag, or one of the key table's parts) or when another file reads
# redis.key_prefix, without which no key can be formatted.
set -u
pat='"[^"]*(\{rep:|\{team:|\{s:|\{board:|%s:\{|:alerts|alerts:firing|:offsets:|:evclock:|:began:|:seen:|:cnt:|:pace:|:contrib:|:team:|:wm:)[^"]*"'
bad=0
files=$(git ls-files 'daemon/*.c' 'daemon/**/*.c' 2>/dev/null | sort -u |
    grep -v '^daemon/keys\.c$' || true)
for f in $files; do
	[ -f "$f" ] || continue
	if grep -nE "$pat" "$f" >/dev/null; then
		grep -nE "$pat" "$f" | sed "s|^|$f:|;s|$|  <- a Redis key is built in daemon/keys.c only|"
		bad=1
	fi
	case "$f" in daemon/config*.c) continue;; esac
	if grep -n 'key_prefix' "$f" >/dev/null; then
		grep -n 'key_prefix' "$f" | sed "s|^|$f:|;s|$|  <- redis.key_prefix is read by daemon/keys.c only|"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "lint-keys: ok"
exit $bad

#!/bin/sh
# Whitespace lint over the files git tracks: no trailing blanks, no
# tab-after-space indentation, a newline at the end of every file, no
# merge conflict marker left behind. Then
# the structure lint (lint-structure.py): no include cycle between daemon
# modules, no source file over 1,500 lines; and lint-keys.sh: Redis keys
# are built in daemon/keys.c only.
set -u
bad=0
files=$(git ls-files 2>/dev/null | grep -vE '^tests/(fixtures|fuzz/corpus|fuzz/regress)/' || true)
for f in $files; do
	[ -f "$f" ] || continue
	case "$f" in *.png|*.gz) continue;; esac
	if grep -nE '[[:blank:]]+$' "$f" >/dev/null; then
		grep -nE '[[:blank:]]+$' "$f" | sed "s|^|$f:|;s|$| trailing whitespace|" | head -5
		bad=1
	fi
	if grep -nE '^(<<<<<<< |>>>>>>> |=======$)' "$f" >/dev/null; then
		grep -nE '^(<<<<<<< |>>>>>>> |=======$)' "$f" | sed "s|^|$f:|;s|$| merge conflict marker|" | head -5
		bad=1
	fi
	if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
		echo "$f: no newline at end of file"
		bad=1
	fi
done
python3 tests/tools/lint-structure.py || bad=1
[ "$bad" -eq 0 ] && echo "lint: ok"
sh "$(dirname "$0")/lint-keys.sh" || bad=1
exit $bad

#!/bin/sh
# SPDX-License-Identifier: MIT
# The README stays something a server author reads in ten minutes: at most
# MAX_LINES lines. It and the other documents given stay within 100
# characters a line (characters, not bytes: µ and · are one each).
# usage: readme_shape.sh MAX_LINES README [OTHER_DOC...]
set -eu
max=$1 readme=$2
shift 2
n=$(wc -l <"$readme")
if [ "$n" -gt "$max" ]; then
	echo "$readme: $n lines, at most $max" >&2
	exit 1
fi
status=0
for f in "$readme" "$@"; do
	long=$(LC_ALL=C.UTF-8 grep -nE '^.{101,}' "$f" || true)
	if [ -n "$long" ]; then
		echo "$f: lines over 100 characters:" >&2
		echo "$long" >&2
		status=1
	fi
done
[ "$status" -eq 0 ] && echo "$readme: $n lines (at most $max), every line within 100"
exit "$status"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails unless every line of the hupmon-serve excerpt in README (between the
# serve-excerpt markers) is a line of SRC (server.c): "..." elisions, "//"
# annotations and blank lines aside.
# usage: excerpt.sh README SRC
set -eu
readme=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n '/<!-- serve-excerpt:begin -->/,/<!-- serve-excerpt:end -->/p' \
	"$readme" | grep -v -e '^<!--' -e '^```' -e '^[[:space:]]*\.\.\.$' \
	-e '^[[:space:]]*//' -e '^$' >"$tmp/excerpt" || true
if [ ! -s "$tmp/excerpt" ]; then
	echo "$readme: no serve-excerpt block"
	exit 1
fi
grep -v '^$' "$src" >"$tmp/src"
if grep -F -x -v -f "$tmp/src" "$tmp/excerpt"; then
	echo "$readme: the excerpt lines above are not in $src"
	exit 1
fi
echo "$readme: $(wc -l <"$tmp/excerpt") excerpt lines, all in $src"

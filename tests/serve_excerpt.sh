#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails unless every line of the README's hupmon-serve excerpt (between the
# serve-excerpt markers) is a line of bench/serve.c: "..." elisions, "//"
# annotations and blank lines aside.
set -eu
readme=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n '/<!-- serve-excerpt:begin -->/,/<!-- serve-excerpt:end -->/p' \
	"$readme" | grep -v -e '^<!--' -e '^```' -e '^[[:space:]]*\.\.\.$' \
	-e '^[[:space:]]*//' -e '^$' >"$tmp/excerpt" || true
if [ ! -s "$tmp/excerpt" ]; then
	echo "README.md: no serve-excerpt block"
	exit 1
fi
grep -v '^$' "$src" >"$tmp/src"
if grep -F -x -v -f "$tmp/src" "$tmp/excerpt"; then
	echo "README.md: the excerpt lines above are not in $src"
	exit 1
fi
echo "README.md: $(wc -l <"$tmp/excerpt") excerpt lines, all in $src"

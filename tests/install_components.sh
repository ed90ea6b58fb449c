#!/bin/sh
# SPDX-License-Identifier: MIT
# What each install component holds. From the build tree, installs the
# runtime, development and tools components each into a prefix of its own,
# and everything (no --component) into another, then fails unless:
#   - tools installs exactly bin/TOOL for each TOOL given, nothing else;
#   - neither runtime nor development installs anything under bin/;
#   - the three components are disjoint and together install exactly what
#     a plain install does (no install rule left without a component);
#   - each tool, installed alone, runs (--help exits 0): it needs no other
#     component.
# usage: install_components.sh BUILD_DIR [TOOL...]
set -eu
build=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# files PREFIX: every file and link installed under PREFIX, relative, sorted.
files() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
}

cmake --install "$build" --prefix "$tmp/all" >/dev/null
files "$tmp/all" >"$tmp/all.list"
for c in runtime development tools; do
	cmake --install "$build" --prefix "$tmp/$c" --component "$c" >/dev/null
	files "$tmp/$c" >"$tmp/$c.list"
done

for t in "$@"; do echo "bin/$t"; done | sort >"$tmp/tools.want"
if ! cmp -s "$tmp/tools.want" "$tmp/tools.list"; then
	echo "install_components: tools installs (< wanted, > installed):" >&2
	diff "$tmp/tools.want" "$tmp/tools.list" >&2 || :
	exit 1
fi
for c in runtime development; do
	if grep '^bin/' "$tmp/$c.list" >&2; then
		echo "install_components: $c installs the programs above" >&2
		exit 1
	fi
done
cat "$tmp/runtime.list" "$tmp/development.list" "$tmp/tools.list" |
	sort >"$tmp/sum.list"
if ! cmp -s "$tmp/sum.list" "$tmp/all.list"; then
	echo "install_components: components (<) against a plain install (>):" \
		"a file twice, or one in no component" >&2
	diff "$tmp/sum.list" "$tmp/all.list" >&2 || :
	exit 1
fi
for t in "$@"; do
	"$tmp/tools/bin/$t" --help >/dev/null || {
		echo "install_components: $t, installed alone, does not run" >&2
		exit 1
	}
done
for c in runtime development tools; do
	echo "$c: $(tr '\n' ' ' <"$tmp/$c.list")"
done
echo "install_components: $(wc -l <"$tmp/all.list") files, each in one" \
	"component; tools: $*"

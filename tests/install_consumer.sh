#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs hupmon's runtime and development components (not the tools) from
# the build tree into a temporary prefix, then builds and runs a tiny
# consumer twice: with find_package(hupmon CONFIG) and with pkg-config. Also
# checks that only hupmon_* symbols are exported, that the license is
# installed and that no program is (bin/ holds only the tools component).
# usage: install_consumer.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -eu
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for component in runtime development; do
	cmake --install "$build" --prefix "$tmp/prefix" \
		--component "$component" >/dev/null
done
if [ -e "$tmp/prefix/bin" ]; then
	echo "runtime + development installed programs:" \
		"$(ls "$tmp/prefix/bin")" >&2
	exit 1
fi
cmp "$src/LICENSE" "$tmp/prefix/share/doc/hupmon/LICENSE"
lib=$(find "$tmp/prefix" -name 'libhupmon.so*' -type f | head -n1)
if [ -n "$lib" ]; then
	bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ {print $3}' |
		grep -v '^hupmon_' || true)
	if [ -n "$bad" ]; then
		echo "unexpected exported symbols: $bad" >&2
		exit 1
	fi
	soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
	[ -n "$soname" ] || { echo "no SONAME" >&2; exit 1; }
	echo "exports only hupmon_*, SONAME $soname"
fi
# 1. CMake package
cmake -S "$src/tests/consumer" -B "$tmp/cm" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:$(dirname "${lib:-/x}")" \
	"$tmp/cm/consumer"
# 2. pkg-config
pcdir=$(dirname "$(find "$tmp/prefix" -name hupmon.pc | head -n1)")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs hupmon)
# shellcheck disable=SC2086
"$cc" -std=c11 -o "$tmp/pc" "$src/tests/consumer/main.c" $flags
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:$(dirname "${lib:-/x}")" \
	"$tmp/pc"
echo "consumer built with find_package and with pkg-config"

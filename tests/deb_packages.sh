#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian packages (src/deb_packages.cmake). Builds them from the build
# tree with cpack -G DEB into a temporary directory, then fails unless:
#   - there are exactly libhupmonN, libhupmon-dev and (with tools given)
#     hupmon-tools, each of the project's version, and no other package
#     (an install() without a component makes cpack fail: src/deb_packages.cmake
#     describes no package for it);
#   - each holds exactly its files: libhupmonN the versioned library, its
#     SONAME link and the license; libhupmon-dev the header, the namelink,
#     hupmon.pc and the CMake package; hupmon-tools the tools;
#   - libhupmon-dev depends on libhupmonN (= VERSION); dpkg-shlibdeps gave
#     libhupmonN and hupmon-tools their libc6 dependency, and the tools
#     neither depend on libhupmonN nor load libhupmon.so;
#   - the packages, unpacked with dpkg-deb -x into a temporary root (never
#     installed: nothing on the system changes), serve a consumer built with
#     find_package and one built with pkg-config, both finding hupmon in
#     that root and printing its version; the tools run from it (--help).
# Skips (77) in sanitizer builds (the consumer and the tools' users are not
# sanitized), in static builds, and where cpack, dpkg-deb, dpkg-shlibdeps
# or file (which cpack needs) is missing.
# usage: deb_packages.sh BUILD_DIR SOURCE_DIR C_COMPILER CPACK VERSION
#        SOVERSION LIBDIR SANITIZED SHARED [TOOL...]
set -eu
build=$1 src=$2 cc=$3 cpack=$4 version=$5 so=$6 libdir=$7 sanitized=$8
shared=$9
shift 9

skip() {
	echo "deb_packages: skipped: $*"
	exit 77
}
fail() {
	echo "deb_packages: $*" >&2
	exit 1
}
case $sanitized in
ON | on | TRUE | true | 1 | YES | yes)
	skip "sanitizer build (its library and tools need the sanitizer" \
		"runtime; package a release build)" ;;
esac
case $shared in
ON | on | TRUE | true | 1 | YES | yes) ;;
*) skip "static build (BUILD_SHARED_LIBS off): no shared library to package" ;;
esac
[ -x "$cpack" ] || skip "no cpack at $cpack"
for p in dpkg dpkg-deb dpkg-shlibdeps file; do
	command -v "$p" >/dev/null 2>&1 || skip "no $p (packages dpkg, dpkg-dev, file)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
arch=$(dpkg --print-architecture)
runtime=libhupmon$so dev=libhupmon-dev tools=hupmon-tools
pkgs="$runtime $dev"
[ $# -eq 0 ] || pkgs="$pkgs $tools"

if ! "$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" \
	>"$tmp/cpack.log" 2>&1; then
	cat "$tmp/cpack.log" >&2
	fail "cpack -G DEB failed"
fi

# Exactly the expected packages.
for p in $pkgs; do echo "${p}_${version}_$arch.deb"; done | sort \
	>"$tmp/debs.want"
(cd "$tmp/out" && find . -maxdepth 1 -name '*.deb' | sed 's|^\./||' | sort) \
	>"$tmp/debs.got"
if ! cmp -s "$tmp/debs.want" "$tmp/debs.got"; then
	diff "$tmp/debs.want" "$tmp/debs.got" >&2 || :
	fail "packages (< wanted, > built)"
fi
deb() { echo "$tmp/out/$1_${version}_$arch.deb"; }

# contents PACKAGE: its files and links (not directories), one a line,
# "path" or "path -> target", the configuration in hupmonTargets-<config>
# replaced by CONFIG.
contents() {
	dpkg-deb -c "$(deb "$1")" | awk '$1 !~ /^d/ {
		line = $6; for (i = 7; i <= NF; i++) line = line " " $i
		sub(/^\.\//, "", line); print line }' |
		sed 's|hupmonTargets-[A-Za-z]*\.cmake$|hupmonTargets-CONFIG.cmake|' |
		sort
}
lib=usr/$libdir
check_contents() {
	c=$1
	shift
	for f in "$@"; do echo "$f"; done | sort >"$tmp/$c.want"
	contents "$c" >"$tmp/$c.got"
	if ! cmp -s "$tmp/$c.want" "$tmp/$c.got"; then
		diff "$tmp/$c.want" "$tmp/$c.got" >&2 || :
		fail "$c holds (< wanted, > held)"
	fi
	echo "$c: $(tr '\n' ' ' <"$tmp/$c.got")"
}
check_contents "$runtime" "$lib/libhupmon.so.$version" \
	"$lib/libhupmon.so.$so -> libhupmon.so.$version" \
	usr/share/doc/hupmon/LICENSE
check_contents "$dev" usr/include/hupmon.h \
	"$lib/libhupmon.so -> libhupmon.so.$so" "$lib/pkgconfig/hupmon.pc" \
	"$lib/cmake/hupmon/hupmonConfig.cmake" \
	"$lib/cmake/hupmon/hupmonConfigVersion.cmake" \
	"$lib/cmake/hupmon/hupmonTargets.cmake" \
	"$lib/cmake/hupmon/hupmonTargets-CONFIG.cmake"
if [ $# -gt 0 ]; then
	# shellcheck disable=SC2046
	check_contents "$tools" $(for t in "$@"; do echo "usr/bin/$t"; done)
fi

# The control fields.
for pkg in $pkgs; do
	v=$(dpkg-deb -f "$(deb "$pkg")" Version)
	[ "$v" = "$version" ] || fail "$pkg: Version '$v', not $version"
done
depends() { dpkg-deb -f "$(deb "$1")" Depends; }
case ", $(depends "$dev")," in
*", $runtime (= $version),"*) ;;
*) fail "$dev: Depends '$(depends "$dev")' lacks '$runtime (= $version)'" ;;
esac
for pkg in $pkgs; do
	[ "$pkg" != "$dev" ] || continue
	case ", $(depends "$pkg")" in
	*", libc6 "*) ;;
	*) fail "$pkg: Depends '$(depends "$pkg")': no libc6 (dpkg-shlibdeps)" ;;
	esac
done
if [ $# -gt 0 ]; then
	case "$(depends "$tools")" in
	*libhupmon*) fail "$tools depends on libhupmon: $(depends "$tools")" ;;
	esac
fi
for pkg in $pkgs; do
	echo "$pkg Depends: $(depends "$pkg")"
done

# Unpacked, never installed.
root=$tmp/root
for pkg in $pkgs; do
	dpkg-deb -x "$(deb "$pkg")" "$root"
done
[ -f "$root/$lib/libhupmon.so" ] || fail "the namelink does not resolve"
for t in "$@"; do
	if objdump -p "$root/usr/bin/$t" | grep -q 'NEEDED.*libhupmon'; then
		fail "$t loads libhupmon.so, yet $tools does not depend on $runtime"
	fi
done

# run PROGRAM: runs it against the root's library, which it must load, and
# checks that it prints the version.
run() {
	loaded=$(LD_LIBRARY_PATH="$root/$lib" ldd "$1" | awk '/libhupmon/ {print $3}')
	case $loaded in
	"$root"/*) ;;
	*) fail "$1 loads libhupmon from '$loaded', not from $root" ;;
	esac
	out=$(LD_LIBRARY_PATH="$root/$lib" "$1")
	[ "$out" = "hupmon $version ok" ] || fail "$1 printed '$out'"
}
# 1. CMake package, found in the root.
cmake -S "$src/tests/consumer" -B "$tmp/cm" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$root/usr" >/dev/null
found=$(sed -n 's/^hupmon_DIR:PATH=//p' "$tmp/cm/CMakeCache.txt")
[ "$found" = "$root/$lib/cmake/hupmon" ] || fail "find_package found '$found'"
cmake --build "$tmp/cm" >/dev/null
run "$tmp/cm/consumer"
# 2. pkg-config, with only the root's .pc visible; the .pc is relocatable:
# its prefix is where it was unpacked, not /usr.
export PKG_CONFIG_LIBDIR="$root/$lib/pkgconfig"
prefix=$(pkg-config --variable=prefix hupmon)
(cd "$prefix" && [ "$(pwd -P)" = "$(cd "$root/usr" && pwd -P)" ]) ||
	fail "hupmon.pc's prefix is '$prefix', not $root/usr"
[ "$(pkg-config --modversion hupmon)" = "$version" ] ||
	fail "hupmon.pc's version is $(pkg-config --modversion hupmon)"
flags=$(pkg-config --cflags --libs hupmon)
# shellcheck disable=SC2086
"$cc" -std=c11 -o "$tmp/pc" "$src/tests/consumer/main.c" $flags
run "$tmp/pc"
unset PKG_CONFIG_LIBDIR
echo "consumer built with find_package and with pkg-config against $runtime" \
	"and $dev unpacked"
# 3. The tools, from the root, with no library path.
for t in "$@"; do
	env -u LD_LIBRARY_PATH "$root/usr/bin/$t" --help >/dev/null ||
		fail "$t --help, unpacked from $tools, failed"
done
echo "deb_packages: $(wc -l <"$tmp/debs.got") packages of $version;" \
	"tools run: ${*:-none}"

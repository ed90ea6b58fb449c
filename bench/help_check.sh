#!/bin/sh
# SPDX-License-Identifier: MIT
# hupmon-bench --help (bench/usage.c): exits 0 with the text on stdout and
# nothing on stderr; no line wider than 80 columns (characters: UTF-8
# continuation bytes count nothing, so "µs" is two); every scenario of the
# registry (each `.name = "..."` of bench/scenarios.c) opens a line of the
# scenario list, with its run time ("~" and a number); the three examples
# are there. A usage error still prints to stderr only and exits 2.
# usage: help_check.sh PATH-TO-HUPMON-BENCH PATH-TO-SCENARIOS.C
set -u
bench=$1 registry=$2
out=$(mktemp) || exit 1
err=$(mktemp) || exit 1
trap 'rm -f "$out" "$err"' EXIT
fails=0

fail()
{
	echo "FAIL: $*"
	fails=1
}

"$bench" --help >"$out" 2>"$err"
rc=$?
[ "$rc" = 0 ] || fail "--help: exit status $rc, want 0"
[ -s "$out" ] || fail "--help: nothing on stdout"
[ -s "$err" ] && fail "--help: wrote to stderr: $(cat "$err")"

LC_ALL=C awk '{ s = $0; gsub(/[\200-\277]/, "", s) }
	length(s) > 80 { print length(s) ": " $0 }' "$out" >"$err"
[ -s "$err" ] && fail "lines over 80 columns:
$(cat "$err")"

# the scenario list: from its heading to the blank line after it
list=$(sed -n '/^Scenarios/,/^$/p' "$out")
names=$(sed -n 's/.*\.name = "\([^"]*\)".*/\1/p' "$registry")
[ -n "$names" ] || fail "no .name = \"...\" in $registry"
for n in $names; do
	printf '%s\n' "$list" | grep -Eq "^  $n +\*? +~[0-9]" ||
		fail "scenario $n: no line '  $n [*] ~TIME ...' in the list"
done

grep -Eq '^  hupmon-bench --quick$' "$out" ||
	fail "no example of the quick run"
grep -Eq '^  hupmon-bench --scenarios [a-z]+ --json [^ ]+ --svg [^ ]+$' \
	"$out" || fail "no example of one scenario with --json and --svg"
grep -Eq '^  sudo hupmon-bench --scenarios silent$' "$out" ||
	fail "no example of the silent-death run as root"

"$bench" --no-such-option >"$out" 2>"$err"
rc=$?
[ "$rc" = 2 ] || fail "--no-such-option: exit status $rc, want 2"
[ -s "$out" ] && fail "--no-such-option: wrote to stdout"
grep -q '^usage: hupmon-bench' "$err" ||
	fail "--no-such-option: no usage on stderr"

[ "$fails" = 0 ] && echo "hupmon-bench --help: ok"
exit "$fails"

#!/bin/sh
# SPDX-License-Identifier: MIT
# hupmon-bench refuses what it cannot honour (options.c): each bad command
# line below must exit 2 with its "bad --X" message on stderr, before any
# work (nothing on stdout); a failed write of an output file must exit 2
# after the run. One line a case: the exit status, a pattern of the first
# line of stderr (the last, for a write), the arguments. A case that does
# not refuse at once is stopped after 20 s (exit 124).
#
# usage: options_check.sh PATH-TO-HUPMON-BENCH
set -u
bench=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

check() {
	want=$1 pattern=$2
	shift 2
	# a refusal is immediate: a run that starts is cut short
	case $pattern in write*) limit=100 ;; *) limit=20 ;; esac
	timeout "$limit" "$bench" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	first=$(head -n 1 "$tmp/err")
	case $pattern in write*) first=$(tail -n 1 "$tmp/err") ;; esac
	if [ "$got" != "$want" ]; then
		echo "FAIL: hupmon-bench $*: exit $got, want $want ($first)"
		fails=$((fails + 1))
	elif ! printf '%s\n' "$first" | grep -q -- "$pattern"; then
		echo "FAIL: hupmon-bench $*: '$first' does not match '$pattern'"
		fails=$((fails + 1))
	elif [ "$want" = 2 ] && [ -s "$tmp/out" ] &&
		! expr "$pattern" : write >/dev/null; then
		echo "FAIL: hupmon-bench $*: ran before refusing:"
		head -n 3 "$tmp/out"
		fails=$((fails + 1))
	else
		echo "ok: hupmon-bench $*: exit $got: $first"
	fi
}

# numbers past their range, and past 32 bits (never wrapped)
check 2 "bad --rounds: '4294967297' (1..64)" --rounds 4294967297
check 2 "bad --rounds: '0' (1..64)" --rounds 0
check 2 "bad --period-ms: '4294967297' (1..3600000)" --period-ms 4294967297
check 2 "bad --abandon-pct: '4294967296' (0..85)" --abandon-pct 4294967296
check 2 "bad --abandon-pct: '86' (0..85)" --abandon-pct 86
check 2 "bad --n: '18446744073709551615' (1..1000000)" --n 18446744073709551615
check 2 "bad --n: '99999999999999999999' (a number" --n 99999999999999999999
check 2 "bad --n: '-1' (a number" --n -1
check 2 "bad --n: '12abc' (a number" --n 12abc
check 2 "bad --n: '' (a number" --n ""
check 2 "bad --settle-ms: '4294967295' (0..600000)" --settle-ms 4294967295
check 2 "bad --pace-us: '4294967295' (1..1000000)" --pace-us 4294967295
check 2 "bad --idle-ms: '4294967295' (1..600000)" --idle-ms 4294967295
check 2 "bad --soak-s: '4294967295' (1..86400)" --soak-s 4294967295
check 2 "bad --seed: '18446744073709551616' (a number" \
	--seed 18446744073709551616
# combinations the run would quietly change
check 2 "bad --tick-ms: '20' (at most --period-ms, 10)" --tick-ms 20
check 2 "bad --closes: '500' (fin: at most --n x --rounds = 100 x 2)" \
	--quick --closes 500 --n 100
check 2 "bad --n: '1000000' (fin: at most" --n 1000000
check 2 "bad --n: '1000000' (unix: at most" --scenarios unix --n 1000000
check 2 "bad --closes: '500' (unix: at most --n x --rounds = 100 x 2)" \
	--scenarios unix --quick --closes 500 --n 100
check 2 "bad --closes: '33' (silent: connections a case, at most 32)" \
	--scenarios silent --closes 33
check 2 "bad --metrics: '$tmp/m' (no library path" \
	--metrics "$tmp/m" --paths raw-epoll --quick
# empty selections
check 2 "bad --scenarios: '' (names" --scenarios ""
check 2 "bad --scenarios: ',' (names" --scenarios ,
check 2 "bad --paths: '' (names" --paths ""
check 2 "bad --scenarios: 'fin,nosuch' ('nosuch' is none" --scenarios fin,nosuch
check 2 "bad --metrics-format: 'xml' (prometheus, json or text)" \
	--metrics-format xml
# output files: refused before the run when they cannot be opened ...
check 2 "bad --json: '$tmp/no/x.json' (No such file" --json "$tmp/no/x.json"
check 2 "bad --svg: '' (a file name)" --svg ""
# ... and a write that fails is an error, not a quiet exit 0
check 2 "write --metrics /dev/full: No space left" \
	--quick --scenarios fin --paths epoll --metrics /dev/full
check 2 "write --json /dev/full: No space left" \
	--quick --scenarios fin --paths epoll --json /dev/full
check 2 "write --svg /dev/full: No space left" \
	--quick --scenarios fin --paths epoll --svg /dev/full
# an unknown option is a usage error (--help: help_check.sh)
check 2 "unrecognized option" --no-such-option
exit $fails

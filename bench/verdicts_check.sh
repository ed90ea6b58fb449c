#!/bin/sh
# SPDX-License-Identifier: MIT
# hupmon-bench's exit status by the kind of check that missed
# (bench/verdict.h): a timing miss is printed, MISSED, and fails the run
# only with --strict-timing; a count miss fails it always.
#
# The timing miss is real: soak for 1 s over 200 connections, its two
# workers acting at most once per --pace-us 100 000 each (bench/soak.c:
# each act moves the next one at least a pace on), so at most 22
# replacements where the 2 churn cycles that soak-cycles asks for need 400;
# its count checks are judged as always and must hold. A count check cannot
# be made to fail by options on a working library, so that one is forced:
# HUPMON_BENCH_FORCE_MISS makes the named check miss whatever was measured
# (churn: a count check; churn-ratio: a timing one, which forced stays
# timing).
# usage: verdicts_check.sh PATH-TO-HUPMON-BENCH
set -u
bench=$1
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
fails=0

# run STATUS FORCE PATTERN ARGS...: hupmon-bench ARGS with
# HUPMON_BENCH_FORCE_MISS=FORCE must exit with STATUS and print a line that
# matches PATTERN.
run()
{
	want=$1 force=$2 pattern=$3
	shift 3
	HUPMON_BENCH_FORCE_MISS=$force "$bench" "$@" >"$out" 2>&1
	got=$?
	what="HUPMON_BENCH_FORCE_MISS='$force' hupmon-bench $*"
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit status $got, want $want"
		cat "$out"
		fails=1
	elif ! grep -q -- "$pattern" "$out"; then
		echo "FAIL: $what: no line matches '$pattern'"
		cat "$out"
		fails=1
	else
		echo "ok: $what: exit status $got; $(grep -- "$pattern" "$out")"
	fi
}

soak="--scenarios soak --soak-s 1 --n 200 --pace-us 100000"
churn="--scenarios churn --n 200 --rounds 1"
# A timing goal out of reach: printed, exit status 0 without the flag ...
run 0 "" '^timing soak-cycles .* MISSED ' $soak
# ... and 1 with it.
run 1 "" '^verdict: FAIL, exit status 1: 0 count .*(failing: --strict-timing)' $soak \
	--strict-timing
# A count miss, no flag: exit status 1.
run 1 churn '^count  churn .* FAIL .*forced by' $churn
# A timing check forced to miss is still timing: exit status 0.
run 0 churn-ratio '^timing churn-ratio .* MISSED .*forced by' $churn
# A name that is no check: a usage error, not a silent pass.
run 2 no-such-check "no check 'no-such-check'" $churn
exit $fails

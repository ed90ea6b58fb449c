#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs hupmon-bench and checks what a reader and a script get from it: the
# exit status 0, no line of stdout over 100 columns (characters: a UTF-8
# "µ" is one), the summary within the last 15 lines ending with the
# verdict, and the --json document (json_keys.cmake: the summary first,
# every scenario that ran under its name with its verdicts).
#
# usage: check_run.sh BENCH CMAKE SCENARIOS [hupmon-bench options...]
#   SCENARIOS  the scenarios the options run, comma-separated
set -u
bench=$1 cmake=$2 scenarios=$3
shift 3
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bench" "$@" --json "$tmp/run.json" >"$tmp/run.txt" 2>"$tmp/err"
rc=$?
if [ "$rc" != 0 ]; then
	tail -n 40 "$tmp/run.txt"
	tail -n 5 "$tmp/err"
	echo "check_run: hupmon-bench $* exited $rc"
	exit 1
fi
# one byte per character: drop UTF-8 continuation bytes
if ! LC_ALL=C tr -d '\200-\277' <"$tmp/run.txt" | awk '
	length > 100 { print "line " NR ", " length " columns: " $0; bad = 1 }
	END { exit bad }'; then
	echo "check_run: lines over 100 columns (hupmon-bench $*)"
	exit 1
fi
if ! tail -n 15 "$tmp/run.txt" | grep -q '^== summary'; then
	tail -n 15 "$tmp/run.txt"
	echo "check_run: no summary within the last 15 lines"
	exit 1
fi
if ! tail -n 1 "$tmp/run.txt" | grep -q '^verdict: PASS'; then
	tail -n 1 "$tmp/run.txt"
	echo "check_run: the last line is not the verdict"
	exit 1
fi
"$cmake" -DDOC="$tmp/run.json" -DSCENARIOS="$scenarios" \
	-P "$dir/json_keys.cmake" || exit 1
echo "check_run: $(wc -l <"$tmp/run.txt") lines, none over 100 columns"

#!/bin/sh
# SPDX-License-Identifier: MIT
# The picture's shape (bench/svg.c): a quick run of the default scenarios
# (fin, rst, half, datafin, escalate, burst, idle) with --svg must write a
# picture at most 1 400 px tall that carries the sweep period and the
# probe-gap bound (period + tick; 10 ms and 11 ms at the defaults) as marks,
# lines of class 'mark period' and 'mark bound', named in full. It judges
# what the file holds and its size, never a latency: the run's own verdict
# (exit status 1: a count check missed) is bench_quick's to judge; any
# other failure (2: an error; a crash) fails this test.
# usage: svg_shape.sh PATH-TO-HUPMON-BENCH
set -u
bench=$1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
svg=$dir/picture.svg
fails=0

fail()
{
	echo "FAIL: $*"
	fails=1
}

"$bench" --quick --scenarios fin,rst,half,datafin,escalate,burst,idle \
	--svg "$svg" >"$dir/out" 2>&1
rc=$?
if [ "$rc" -gt 1 ]; then
	cat "$dir/out"
	echo "FAIL: hupmon-bench exited with status $rc"
	exit 1
fi
if [ ! -s "$svg" ] || [ "$(tail -n 1 "$svg")" != "</svg>" ]; then
	echo "FAIL: no complete SVG file written"
	exit 1
fi

height=$(sed -n "s/^<svg [^>]* height='\([0-9]*\)'.*/\1/p" "$svg" | head -n 1)
if [ -z "$height" ]; then
	fail "no height on the <svg> element"
elif [ "$height" -gt 1400 ]; then
	fail "the picture is $height px tall, more than 1 400"
else
	echo "ok: the picture is $height px tall"
fi
period=$(grep -c "^<line class='mark period'" "$svg")
bound=$(grep -c "^<line class='mark bound'" "$svg")
if [ "$period" -eq 0 ] || [ "$period" != "$bound" ]; then
	fail "$period period mark line(s), $bound bound mark line(s)"
else
	echo "ok: $period period and $bound bound mark lines"
fi
for text in "sweep period 10 ms" "probe-gap bound 11 ms"; do
	if grep -q ">$text</text>" "$svg"; then
		echo "ok: a label '$text'"
	else
		fail "no label '$text'"
	fi
done
exit $fails

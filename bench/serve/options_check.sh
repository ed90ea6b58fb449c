#!/bin/sh
# SPDX-License-Identifier: MIT
# hupmon-serve's options (main.c, addr.c): each bad value, empty value or
# combination that cannot be honoured exits 2 with the one line
# "hupmon-serve: bad --X: value (range)" on stderr, before anything starts
# (nothing on stdout, no "listening on"); a usage error exits 2 with the
# usage on stderr. A few values on the edge of the rule are accepted: each
# such server prints "listening on" and exits 0 on SIGTERM.
# usage: options_check.sh PATH-TO-HUPMON-SERVE
set -u
serve=$1
out=$(mktemp) || exit 1
err=$(mktemp) || exit 1
trap 'rm -f "$out" "$err"' EXIT
fails=0

fail()
{
	echo "FAIL: $*"
	fails=1
}

# refused MESSAGE ARG...: exit 2, MESSAGE the whole of stderr. A server
# started by mistake is stopped by timeout (exit 124).
refused()
{
	want=$1
	shift
	timeout 10 "$serve" "$@" >"$out" 2>"$err"
	rc=$?
	[ "$rc" = 2 ] || fail "$*: exit status $rc, want 2"
	[ -s "$out" ] && fail "$*: wrote to stdout: $(cat "$out")"
	[ "$(cat "$err")" = "hupmon-serve: $want" ] ||
		fail "$*: stderr '$(cat "$err")', want 'hupmon-serve: $want'"
}

# usage_error ARG...: exit 2, the usage on stderr, nothing on stdout.
usage_error()
{
	timeout 10 "$serve" "$@" >"$out" 2>"$err"
	rc=$?
	[ "$rc" = 2 ] || fail "$*: exit status $rc, want 2"
	[ -s "$out" ] && fail "$*: wrote to stdout: $(cat "$out")"
	grep -q '^usage: hupmon-serve' "$err" || fail "$*: no usage on stderr"
}

# accepted ARG...: listens within 10 s, exits 0 on SIGTERM.
accepted()
{
	# emptied here: the child's own redirection may come after the first
	# look below, which would then find the previous server's line
	: >"$out"
	"$serve" --port 0 --workers 1 "$@" >"$out" 2>"$err" &
	pid=$!
	i=0
	while ! grep -q 'listening on' "$out" && [ $i -lt 200 ] &&
		kill -0 $pid 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	grep -q 'listening on' "$out" ||
		fail "$*: not listening: $(cat "$out" "$err")"
	kill -TERM $pid 2>/dev/null
	wait $pid
	rc=$?
	[ "$rc" = 0 ] || fail "$*: exit status $rc after SIGTERM, want 0"
}

p='(range 0..65535)'
refused "bad --port:  $p" --port ''
refused "bad --port: -1 $p" --port -1
refused "bad --port: 65536 $p" --port 65536
refused "bad --port: 4294967297 $p" --port 4294967297
refused "bad --port: 18446744073709551617 $p" --port 18446744073709551617
refused "bad --port: 99999999999999999999999 $p" \
	--port 99999999999999999999999
refused "bad --port:  80 $p" --port ' 80'
refused "bad --port: 80  $p" --port '80 '
refused "bad --port: +80 $p" --port +80
refused "bad --port: 0x50 $p" --port 0x50
refused "bad --port: 8e1 $p" --port 8e1

w='(range 0..4096)'
refused "bad --workers:  $w" --workers ''
refused "bad --workers: 4097 $w" --workers 4097
refused "bad --workers: -1 $w" --workers -1
refused "bad --workers: 18446744073709551616 $w" \
	--workers 18446744073709551616

m='(range 1..86400000)'
for o in --header-timeout --idle-timeout; do
	refused "bad $o:  $m" $o ''
	refused "bad $o: 0 $m" $o 0
	refused "bad $o: 86400001 $m" $o 86400001
	refused "bad $o: 4294967297 $m" $o 4294967297
	refused "bad $o: 1.5 $m" $o 1.5
done

refused 'bad --hupmon:  (off | epoll | sweep | compare)' --hupmon ''
refused 'bad --hupmon: EPOLL (off | epoll | sweep | compare)' --hupmon EPOLL
refused 'bad --hupmon: peek (off | epoll | sweep | compare)' --hupmon peek
refused 'bad --half-close:  (cancel | wait)' --half-close ''
refused 'bad --half-close: close (cancel | wait)' --half-close close
refused 'bad --loop:  (thread | acceptor)' --loop ''
refused 'bad --loop: epoll (thread | acceptor)' --loop epoll

a='(an IPv4 or IPv6 address)'
for b in '' localhost '[::1]' 127.1 010.0.0.1 0x7f.0.0.1 2130706433 \
	256.0.0.1 1.2.3.4.5 ' 127.0.0.1' '127.0.0.1 ' ':::1' '%lo'; do
	refused "bad --bind: $b $a" --bind "$b"
done
for b in '::1%' '::1%no-such-if' '::1%0' '::1%99999999999'; do
	refused "bad --bind: $b (no such interface)" --bind "$b"
done
refused 'bad --bind: fe80::1 (a link-local address needs %interface)' \
	--bind fe80::1

# What only hupmon's reports act on, asked for without hupmon, in either
# order.
n='(needs --hupmon epoll, sweep or compare)'
refused "bad --loop: acceptor $n" --hupmon off --loop acceptor
refused "bad --loop: thread $n" --loop thread --hupmon off
refused "bad --half-close: wait $n" --half-close wait --hupmon off
refused "bad --half-close: cancel $n" --hupmon off --half-close cancel

usage_error --no-such-option
usage_error --port
usage_error --port 0 extra
usage_error --help=yes

accepted --bind 127.0.0.1 --header-timeout 86400000 --idle-timeout 1
accepted --hupmon off
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
	accepted --bind ::1
	accepted --bind ::1%lo
else
	echo "note: no ::1 on this machine: the IPv6 addresses not started"
fi

[ "$fails" = 0 ] && echo "hupmon-serve options: all refused and accepted as stated"
exit $fails

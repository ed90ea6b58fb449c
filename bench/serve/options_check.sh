#!/bin/sh
# SPDX-License-Identifier: MIT
# hupmon-serve's options (main.c, addr.c): each bad value, empty value or
# combination that cannot be honoured exits 2 with the one line
# "hupmon-serve: bad --X: value (range)" on stderr, before anything starts
# (nothing on stdout, no "listening on"); a usage error exits 2 with the
# usage on stderr. A few values on the edge of the rule are accepted: each
# such server prints "listening on" and exits 0 on SIGTERM; one with
# --unix PATH has made its socket file by then and removed it at exit.
# usage: options_check.sh PATH-TO-HUPMON-SERVE
set -u
serve=$1
out=$(mktemp) || exit 1
err=$(mktemp) || exit 1
# short: a --unix name holds at most 107 bytes
dir=$(mktemp -d /tmp/hs-XXXXXX) || exit 1
trap 'rm -f "$out" "$err"; rm -rf "$dir"' EXIT
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

# listens ARG...: listens within 10 s, exits 0 on SIGTERM. Runs sock_check
# (set by the caller) while it listens, sock_gone after it exited.
sock_check=true
sock_gone=true
listens()
{
	# emptied here: the child's own redirection may come after the first
	# look below, which would then find the previous server's line
	: >"$out"
	"$serve" --workers 1 "$@" >"$out" 2>"$err" &
	pid=$!
	i=0
	while ! grep -q 'listening on' "$out" && [ $i -lt 200 ] &&
		kill -0 $pid 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	grep -q 'listening on' "$out" ||
		fail "$*: not listening: $(cat "$out" "$err")"
	$sock_check || fail "$*: $sock_check failed while listening"
	kill -TERM $pid 2>/dev/null
	wait $pid
	rc=$?
	[ "$rc" = 0 ] || fail "$*: exit status $rc after SIGTERM, want 0"
	$sock_gone || fail "$*: $sock_gone failed after the exit"
}

# accepted ARG...: listens on a free TCP port (and whatever ARG adds).
accepted()
{
	listens --port 0 "$@"
}

# accepted_unix PATH ARG...: listens on PATH, a socket file there while it
# runs, none after.
accepted_unix()
{
	path=$1
	shift
	sock_check="test -S $path"
	sock_gone="test ! -e $path"
	listens --unix "$path" "$@"
	grep -q "listening on .*unix:$path " "$out" ||
		fail "--unix $path $*: not on unix:$path: $(cat "$out")"
	sock_check=true
	sock_gone=true
}

# name N: a name of N bytes in $dir, made of x's after "$dir/".
name()
{
	printf '%s/%s' "$dir" "$(head -c $(($1 - ${#dir} - 1)) /dev/zero |
		tr '\0' x)"
}

# abstract N: "@" and an abstract name of N bytes.
abstract()
{
	printf '@hupmon-serve-%s-%s' $$ "$(head -c $(($1 - 14 - ${#$})) \
		/dev/zero | tr '\0' y)"
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

# --unix: at most 107 bytes (sun_path holds 108 with the NUL), the @ of an
# abstract name not counted; never empty.
u='(at most 107 bytes, the @ of an abstract name aside)'
refused "bad --unix: $(name 108) $u" --unix "$(name 108)"
refused "bad --unix: $(name 200) $u" --unix "$(name 200)"
refused "bad --unix: $(abstract 108) $u" --unix "$(abstract 108)"
refused 'bad --unix:  (a file name, or @name for an abstract one)' --unix ''
refused 'bad --unix: @ (a file name, or @name for an abstract one)' --unix @

usage_error --no-such-option
usage_error --port
usage_error --port 0 extra
usage_error --help=yes

accepted --bind 127.0.0.1 --header-timeout 86400000 --idle-timeout 1
accepted --hupmon off
# the longest names; Unix alone, then beside TCP
accepted_unix "$(name 107)"
accepted_unix "$dir/s" --port 0
grep -q 'listening on http://127.0.0.1:[0-9]*/ and unix:' "$out" ||
	fail "--unix with --port: not on both: $(cat "$out")"
accepted_unix "$dir/s" --bind 127.0.0.1
listens --unix "$(abstract 107)"
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
	accepted --bind ::1
	accepted --bind ::1%lo
else
	echo "note: no ::1 on this machine: the IPv6 addresses not started"
fi

[ "$fails" = 0 ] && echo "hupmon-serve options: all refused and accepted as stated"
exit $fails

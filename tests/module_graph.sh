#!/bin/sh
# SPDX-License-Identifier: MIT
# The module graph of a directory's C code, derived from its built objects,
# and a check that it has no cycle.
#
# A module is a stem: x.c and x.h. A call from module a to module b is an
# undefined symbol of a's object that b's object defines (nm), or a call in
# a's source (x.c or x.h) to a static inline function that b's header
# defines (inlines leave no symbol to read; the sources read are the .c of
# the objects given and every header). Prints each pair of modules
# that call each other, and each longer cycle, and exits 1 if there is any.
#
# usage: module_graph.sh [--print | --readme FILE] NM SRC_DIR OBJECT...
#   --print        also prints the graph, one line a module: "a -> b c",
#                  callers before what they call
#   --readme FILE  also fails unless FILE's block between the markers
#                  <!-- module-graph:SRC_DIR:begin --> and ...:end --> is
#                  that graph (in a ``` fence)
set -eu
print=0 readme=
case "$1" in
--print) print=1; shift ;;
--readme) readme=$2; shift 2 ;;
esac
nm=$1 src=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

stem() { b=${1##*/}; b=${b%.o}; b=${b%.obj}; echo "${b%.[ch]}"; }

# defs: "symbol stem" for every global symbol an object defines;
# uses: "stem symbol" for every symbol it needs.
for o in "$@"; do
	s=$(stem "$o")
	"$nm" -g --defined-only "$o" | awk -v s="$s" 'NF >= 3 { print $3, s }'
done | sort -u >"$tmp/defs"
for o in "$@"; do
	s=$(stem "$o")
	"$nm" -u "$o" | awk -v s="$s" '{ print s, $NF }'
done | sort -u >"$tmp/uses"

# Inlines: "name stem" for each static inline function a header defines,
# and "stem name" for each call to one of them in a module's source.
for h in "$src"/*.h; do
	[ -e "$h" ] || continue
	s=$(stem "$h")
	sed -n 's/^static inline .*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' \
		"$h" | awk -v s="$s" '{ print $1, s }'
done | sort -u >"$tmp/inlines"
: >"$tmp/inline_uses"
if [ -s "$tmp/inlines" ]; then
	# Every identifier followed by "(" in each file, comments out, in one
	# awk pass: "stem identifier".
	awk 'FNR == 1 { s = FILENAME; sub(/.*\//, "", s); sub(/\.[ch]$/, "", s)
			c = 0 }
	     { line = $0; out = ""
	       while (length(line)) {
		if (c) { i = index(line, "*/")
			 if (!i) { line = ""; break }
			 line = substr(line, i + 2); c = 0 }
		else { i = index(line, "/*"); j = index(line, "//")
		       if (j && (!i || j < i)) { out = out substr(line, 1, j - 1)
						 line = ""; break }
		       if (!i) { out = out line; line = ""; break }
		       out = out substr(line, 1, i - 1)
		       line = substr(line, i + 2); c = 1 } }
	       while (match(out, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
		id = substr(out, RSTART, RLENGTH - 1); sub(/[ \t]+$/, "", id)
		print s, id
		out = substr(out, RSTART + RLENGTH) } }' \
		$(for o in "$@"; do
			f=$src/$(stem "$o").c
			[ -e "$f" ] && echo "$f"
		  done
		  ls "$src"/*.h 2>/dev/null) | sort -u >"$tmp/calls"
	awk 'NR == FNR { owner[$1] = $2; next }
	     ($2 in owner) && owner[$2] != $1 { print $1, owner[$2] }' \
		"$tmp/inlines" "$tmp/calls" >"$tmp/inline_uses"
fi

# Edges "a b": a calls b.
awk 'NR == FNR { owner[$1] = $2; next }
     ($2 in owner) && owner[$2] != $1 { print $1, owner[$2] }' \
	"$tmp/defs" "$tmp/uses" >"$tmp/edges"
cat "$tmp/inline_uses" >>"$tmp/edges"
sort -u "$tmp/edges" -o "$tmp/edges"
{
	for o in "$@"; do stem "$o"; done
	awk '{ print $1; print $2 }' "$tmp/edges"
} | sort -u >"$tmp/modules"

# The graph, callers first (Kahn's order, by name among equals); a module
# in a cycle is never ready and is left out (the check below names it).
awk 'NR == FNR { mods[++n] = $1; next }
     { out[$1] = out[$1] " " $2; indeg[$2]++ }
     END {
	left = n
	while (left) {
		pick = ""
		for (i = 1; i <= n; i++)
			if (!(mods[i] in done) && !indeg[mods[i]] &&
			    (pick == "" || mods[i] < pick))
				pick = mods[i]
		if (pick == "")
			break
		done[pick] = 1
		left--
		print pick " ->" (pick in out ? out[pick] : "")
		k = split(out[pick], to, " ")
		for (j = 1; j <= k; j++)
			indeg[to[j]]--
	}
     }' "$tmp/modules" "$tmp/edges" >"$tmp/graph"
[ "$print" = 1 ] && cat "$tmp/graph"

# Reachability (Floyd-Warshall on a few dozen modules), then every pair
# that reaches each other: a direct pair both ways, or a longer cycle.
awk 'NR == FNR { id[$1] = ++n; name[n] = $1; next }
     { r[id[$1], id[$2]] = 1; d[id[$1], id[$2]] = 1 }
     END {
	for (k = 1; k <= n; k++)
		for (i = 1; i <= n; i++)
			if (r[i, k])
				for (j = 1; j <= n; j++)
					if (r[k, j]) r[i, j] = 1
	bad = 0
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (r[i, j] && r[j, i]) {
				bad = 1
				if (d[i, j] && d[j, i])
					print "calls both ways: " name[i] " <-> " name[j]
				else
					print "in a cycle: " name[i] " and " name[j]
			}
	exit bad
     }' "$tmp/modules" "$tmp/edges" >"$tmp/verdict" || {
	cat "$tmp/verdict"
	echo "module_graph: $src has cycles" >&2
	exit 1
}
if [ -n "$readme" ]; then
	d=${src%/}
	d=${d##*/}
	sed -n "/<!-- module-graph:$d:begin -->/,/<!-- module-graph:$d:end -->/p" \
		"$readme" | grep -v -e '^<!--' -e '^```' >"$tmp/readme_graph" || :
	if ! cmp -s "$tmp/graph" "$tmp/readme_graph"; then
		echo "module_graph: $readme's graph of $d differs from the code's" \
			"(< code, > README):" >&2
		diff "$tmp/graph" "$tmp/readme_graph" >&2 || :
		exit 1
	fi
fi
echo "module_graph: $src: $(wc -l <"$tmp/modules") modules," \
	"$(wc -l <"$tmp/edges") calls between them, no cycle"

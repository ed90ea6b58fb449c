/* SPDX-License-Identifier: MIT */
/* One half of a deliberate cycle: module_graph_catches_a_cycle feeds this
 * and pong.c to tests/module_graph.sh, which must fail on them. */
int pong(int n);
int ping(int n);

int ping(int n)
{
	return n > 0 ? pong(n - 1) : 0;
}

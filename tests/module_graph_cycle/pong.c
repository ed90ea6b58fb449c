/* SPDX-License-Identifier: MIT */
/* The other half of the deliberate cycle (see ping.c). */
int ping(int n);
int pong(int n);

int pong(int n)
{
	return n > 0 ? ping(n - 1) : 1;
}

/* SPDX-License-Identifier: MIT */
/*
 * addr: the address hupmon-serve listens on (--bind, serve_opts.bind), as
 * text and as the sockaddr that bind() takes.
 */
#ifndef HUPMON_SERVE_ADDR_H
#define HUPMON_SERVE_ADDR_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * Fills *ss and *len with the address s on port: a dotted-quad IPv4
 * address (a.b.c.d, no leading zeros) or an IPv6 address, which may end in
 * %interface (a name or an index that exists: its scope); a link-local
 * IPv6 address needs one. Nothing else: no host name ("localhost" would
 * mean 127.0.0.1 or ::1 depending on /etc/hosts), no brackets, none of
 * inet_aton's shorthands ("127.1", octal "010.0.0.1" meaning 8.0.0.1).
 * Returns 0, -EINVAL (no such address), -ENODEV (no such interface) or
 * -EDESTADDRREQ (link-local without an interface).
 */
int serve_addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss,
		     socklen_t *len);
/* What a refusal of serve_addr_parse means, for a person: "an IPv4 or
 * IPv6 address", "no such interface", ... */
const char *serve_addr_why(int err);

#endif

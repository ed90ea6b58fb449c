/* SPDX-License-Identifier: MIT */
/*
 * addr: the addresses hupmon-serve listens on (--bind and serve_opts.bind,
 * --unix and serve_opts.unix_path), as text and as the sockaddr that bind()
 * takes.
 */
#ifndef HUPMON_SERVE_ADDR_H
#define HUPMON_SERVE_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

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

/* The longest name --unix takes, in bytes: sun_path holds 108, a file
 * name and its NUL, or a NUL and an abstract name. */
#define SERVE_UNIX_NAME_MAX 107

/*
 * Fills *sun and *len with the Unix-domain address path names: a file name
 * of 1..SERVE_UNIX_NAME_MAX bytes, or "@name", an abstract name (no file;
 * it goes when the socket closes) of 1..SERVE_UNIX_NAME_MAX bytes: the @
 * becomes a leading NUL, and *len ends with the name's last byte (no NUL
 * after it), as curl --abstract-unix-socket counts it. Returns 0, -EINVAL
 * (empty, or "@" alone) or -ENAMETOOLONG.
 */
int serve_unix_parse(const char *path, struct sockaddr_un *sun, socklen_t *len);
/* Whether path (as serve_unix_parse takes it) is an abstract name. */
bool serve_unix_abstract(const char *path);
/* What a refusal of serve_unix_parse means, for a person. */
const char *serve_unix_why(int err);

#endif

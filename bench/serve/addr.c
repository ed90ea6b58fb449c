/* SPDX-License-Identifier: MIT */
/*
 * addr: the listening address (see addr.h).
 *
 * Facts relied on: inet_pton(AF_INET) takes the dotted quad only, with no
 * leading zeros (glibc), unlike inet_aton; bind() of a link-local IPv6
 * address fails (EINVAL) without sin6_scope_id, and ignores the scope of
 * any other IPv6 address. A Unix-domain address is sun_family and
 * sun_path[108]: a file name ends with a NUL inside it; an abstract name
 * starts with a NUL and is exactly as long as the length bind() and
 * connect() are given says (so "@a" is not "@a" plus a NUL).
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The interface named s, by name or index: its index, or 0 if none. */
static unsigned scope_of(const char *s)
{
	char name[IF_NAMESIZE];
	unsigned long v;
	char *end;

	if (!*s)
		return 0;
	if (if_nametoindex(s))
		return if_nametoindex(s);
	if (*s < '1' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end || v > UINT32_MAX || !if_indextoname((unsigned)v, name))
		return 0;
	return (unsigned)v;
}

int serve_addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	const char *pct = strchr(s, '%');
	char host[INET6_ADDRSTRLEN];
	size_t n = pct ? (size_t)(pct - s) : strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (!pct && inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
		return -EINVAL;
	if (pct) {
		a6->sin6_scope_id = scope_of(pct + 1);
		if (!a6->sin6_scope_id)
			return -ENODEV;
	} else if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr)) {
		return -EDESTADDRREQ;
	}
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	*len = sizeof(*a6);
	return 0;
}

const char *serve_addr_why(int err)
{
	if (err == -ENODEV)
		return "no such interface";
	if (err == -EDESTADDRREQ)
		return "a link-local address needs %interface";
	return "an IPv4 or IPv6 address";
}

bool serve_unix_abstract(const char *path)
{
	return path[0] == '@';
}

int serve_unix_parse(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	bool abstract = serve_unix_abstract(path);
	size_t n = strlen(path + abstract);

	_Static_assert(sizeof(sun->sun_path) == SERVE_UNIX_NAME_MAX + 1,
		       "sun_path: a name and a NUL");
	memset(sun, 0, sizeof(*sun));
	if (!n)
		return -EINVAL;
	if (n > SERVE_UNIX_NAME_MAX)
		return -ENAMETOOLONG;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + abstract, path + abstract, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract +
			   n + !abstract);
	return 0;
}

const char *serve_unix_why(int err)
{
	if (err == -ENAMETOOLONG)
		return "at most 107 bytes, the @ of an abstract name aside";
	return "a file name, or @name for an abstract one";
}

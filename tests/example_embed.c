/* SPDX-License-Identifier: MIT */
#include <hupmon.h>
#include <poll.h>
#include <stdio.h>

struct server {
	hupmon *mon;
	int open_conns;
};

/* Runs on the dispatching thread, without any hupmon lock held. */
static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct server *srv = arg;

	printf("fd %d: %s (errno %d), seen by %s\n", ev->fd,
	       hupmon_cause_name(ev->cause), ev->error,
	       hupmon_path_name(ev->path));
	hupmon_unwatch(srv->mon, ev->id); /* now the server may close(fd) */
	srv->open_conns--;
}

/* Watches conn_fd from the server's own poll() loop until its peer is
 * gone. Returns 0 or a negative errno. */
static int serve(int conn_fd)
{
	struct server srv = {.open_conns = 1};
	struct hupmon_config cfg = {.on_hangup = on_hangup, .arg = &srv};
	int rc = hupmon_new(&cfg, &srv.mon);

	if (rc == 0)
		rc = hupmon_watch(srv.mon, conn_fd, NULL, NULL);
	while (rc == 0 && srv.open_conns > 0) {
		struct pollfd pfd = {.fd = hupmon_fd(srv.mon),
				     .events = POLLIN};
		int n = poll(&pfd, 1, 1000); /* your other fds go here too */

		if (n > 0 && (n = hupmon_dispatch(srv.mon, 0)) < 0)
			rc = n;
	}
	hupmon_free(srv.mon);
	return rc;
}

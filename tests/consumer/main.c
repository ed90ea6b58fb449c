/* SPDX-License-Identifier: MIT */
/* A tiny hupmon user: links, creates a monitor, checks the version. */
#include <hupmon.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	hupmon *m = NULL;
	int rc = hupmon_new(NULL, &m);

	if (rc) {
		fprintf(stderr, "hupmon_new: %d\n", rc);
		return 1;
	}
	if (hupmon_fd(m) < 0 ||
	    strcmp(hupmon_version(), HUPMON_VERSION_STRING)) {
		hupmon_free(m);
		return 1;
	}
	printf("hupmon %s ok\n", hupmon_version());
	hupmon_free(m);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * json: the --json document. The summary first (what a reader wants from
 * the run), then the machine and the options, then every scenario that ran
 * under its name (its own json op writes its members), then the verdicts.
 */
#include "bench.h"
#include "jw.h"
#include "summary.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void machine(struct jw *w, const struct bopts *o)
{
	struct utsname u;
	char date[32] = "", kernel[2 * sizeof(u.release) + 2];
	time_t now = time(NULL);
	struct tm tm;

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	if (gmtime_r(&now, &tm))
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(kernel, sizeof(kernel), "%s %s", u.sysname, u.release);
	jw_obj(w, "machine");
	jw_str(w, "kernel", kernel);
	jw_str(w, "arch", u.machine);
	jw_int(w, "cores", sysconf(_SC_NPROCESSORS_ONLN));
	jw_uint(w, "fd_limit", o->fd_hard);
	jw_str(w, "date", date);
	jw_end(w);
}

static void config(struct jw *w, const struct bopts *o)
{
	jw_obj(w, "config");
	jw_uint(w, "n", o->n);
	jw_uint(w, "closes", o->closes);
	jw_uint(w, "rounds", o->rounds);
	jw_uint(w, "period_ms", o->period_ms);
	jw_uint(w, "tick_ms", o->tick_ms);
	jw_uint(w, "pace_us", o->pace_us);
	jw_uint(w, "idle_ms", o->idle_ms);
	jw_uint(w, "seed", o->seed);
	jw_bool(w, "quick", o->quick);
	jw_end(w);
}

int write_json(FILE *f, const struct bopts *o, const struct scen_run *runs,
	       const struct verdicts *v)
{
	struct jw w;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	summary_json(&w, runs, v);
	jw_str(&w, "tool", "hupmon-bench");
	jw_str(&w, "hupmon_version", hupmon_version());
	machine(&w, o);
	config(&w, o);
	jw_obj(&w, "scenarios");
	for (int sc = 0; sc < scenario_count; sc++) {
		const struct scen_run *r = &runs[sc];

		if (!r->ran)
			continue;
		jw_obj(&w, r->x.s->name);
		if (r->res && r->x.s->ops->json)
			r->x.s->ops->json(&w, r->res, &r->x);
		verdict_json(&w, &r->v);
		jw_end(&w);
	}
	jw_end(&w);
	jw_bool(&w, "strict_timing", v->strict_timing);
	verdict_json(&w, v);
	jw_end(&w);
	fputc('\n', f);
	return file_close(f);
}

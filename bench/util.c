/* SPDX-License-Identifier: MIT */
/*
 * util: clocks, a seeded RNG, sample vectors and their order statistics.
 */
#include "bench.h"
#include "jw.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* User + system CPU of the whole process (every thread), in ms. */
double self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* splitmix64: small, seedable, good enough to shuffle and jitter. */
uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

size_t *shuffled(size_t n, uint64_t *state)
{
	size_t *v = xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(state) % i);
		size_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
	return v;
}

int vec_push(struct vec *v, uint64_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		uint64_t *p = realloc(v->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

void vec_free(struct vec *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* An empty vector has no array to sort (qsort wants one). */
static void vec_sort(struct vec *v)
{
	if (v->n)
		qsort(v->v, v->n, sizeof(*v->v), cmp_u64);
}

double pct_sorted(const struct vec *v, double pct)
{
	size_t rank;

	if (!v->n)
		return NAN;
	rank = (size_t)ceil(pct / 100.0 * (double)v->n);
	if (rank < 1)
		rank = 1;
	if (rank > v->n)
		rank = v->n;
	return (double)v->v[rank - 1];
}

double vec_pct(struct vec *v, double pct)
{
	vec_sort(v);
	return pct_sorted(v, pct);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct dist dist_of(struct vec *v, double unit)
{
	vec_sort(v);
	return (struct dist){
		.n = v->n,
		.min = pct_sorted(v, 0) / unit,
		.p50 = pct_sorted(v, 50) / unit,
		.p90 = pct_sorted(v, 90) / unit,
		.p99 = pct_sorted(v, 99) / unit,
		.max = pct_sorted(v, 100) / unit,
	};
}

double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void figs_reset(double *fig)
{
	for (int i = 0; i < FIG_COUNT; i++)
		fig[i] = NAN;
}

void die(const char *what, int err)
{
	fprintf(stderr, "hupmon-bench: %s: %s\n", what, strerror(err));
	exit(2);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("calloc", ENOMEM);
	return p;
}

int file_close(FILE *f)
{
	int bad = ferror(f), rc = fclose(f);

	if (bad || rc)
		return errno ? -errno : -EIO;
	return 0;
}

void dist_json(struct jw *w, const char *key, const struct dist *d)
{
	jw_obj(w, key);
	jw_uint(w, "count", d->n);
	jw_num(w, "p50", d->p50);
	jw_num(w, "p90", d->p90);
	jw_num(w, "p99", d->p99);
	jw_num(w, "max", d->max);
	jw_end(w);
}

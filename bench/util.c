/*
 * util: clocks, a seeded RNG, sample vectors and their order statistics.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

void shuffle(size_t *v, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(state) % i);
		size_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
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

double vec_pct(struct vec *v, double pct)
{
	size_t rank;

	if (!v->n)
		return NAN;
	qsort(v->v, v->n, sizeof(*v->v), cmp_u64);
	rank = (size_t)ceil(pct / 100.0 * (double)v->n);
	if (rank < 1)
		rank = 1;
	if (rank > v->n)
		rank = v->n;
	return (double)v->v[rank - 1];
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool positive(double x)
{
	return isfinite(x) && x > 0;
}

double ratio_median(const double *a, const double *b, unsigned n)
{
	double r[BENCH_MAX_ROUNDS];
	size_t k = 0;

	for (unsigned i = 0; i < n; i++)
		if (positive(a[i]) && positive(b[i]))
			r[k++] = a[i] / b[i];
	return median(r, k);
}

void figs_reset(double *fig)
{
	for (int i = 0; i < FIG_COUNT; i++)
		fig[i] = NAN;
}

/* ---- the column printer of the text tables ---------------------------- */

void tab_head(FILE *f, const struct col *cols, const char *tail)
{
	for (const struct col *c = cols; c->head; c++)
		fprintf(f, "%s%*s", c == cols ? "" : " ", c->w, c->head);
	fprintf(f, "%s\n", tail ? tail : "");
}

void tab_start(struct tab *t, FILE *f, const struct col *cols)
{
	t->f = f;
	t->first = t->col = cols;
}

/* The separator before a column, and the column, which is then done. */
static const struct col *next(struct tab *t)
{
	if (t->col != t->first)
		fputc(' ', t->f);
	return t->col++;
}

void tab_s(struct tab *t, const char *s)
{
	fprintf(t->f, "%*s", next(t)->w, s);
}

void tab_n(struct tab *t, double x)
{
	const struct col *c = next(t);

	if (isfinite(x))
		fprintf(t->f, "%*.*f", c->w, c->prec, x);
	else
		fprintf(t->f, "%*s", c->w, "-");
}

void tab_u(struct tab *t, uint64_t x)
{
	fprintf(t->f, "%*llu", next(t)->w, (unsigned long long)x);
}

void tab_skip(struct tab *t, int n)
{
	while (n-- > 0)
		tab_s(t, "");
}

void tab_end(struct tab *t, const char *tail)
{
	fprintf(t->f, "%s\n", tail ? tail : "");
}

void die(const char *what, int err)
{
	fprintf(stderr, "hupmon-bench: %s: %s\n", what, strerror(err));
	exit(2);
}

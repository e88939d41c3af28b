/*
 * metrics.c: the registry behind /metrics. Modules register their metrics
 * at start and keep the handles; rendering walks the registry grouped by
 * name so that HELP and TYPE are written once per family.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric {
	enum metric_type type;
	char *name;
	char *labels;
	char *help;
	double value;		/* counter, gauge; histogram: sum */
	double *bounds;
	uint64_t *buckets;	/* nbounds + 1 (the last is +Inf) */
	size_t nbounds;
	uint64_t count;
	struct metric *next;
};

static struct metric *metrics_head, *metrics_tail;

static struct metric *
metric_find(const char *name, const char *labels)
{
	for (struct metric *m = metrics_head; m != NULL; m = m->next) {
		if (strcmp(m->name, name) == 0 &&
		    strcmp(m->labels, labels ? labels : "") == 0)
			return m;
	}
	return NULL;
}

static struct metric *
metric_register(enum metric_type type, const char *name, const char *labels,
    const char *help)
{
	struct metric *m, *last_of_name = NULL;

	if ((m = metric_find(name, labels)) != NULL)
		return m;
	m = xcalloc(1, sizeof(*m));
	m->type = type;
	m->name = xstrdup(name);
	m->labels = xstrdup(labels ? labels : "");
	m->help = xstrdup(help);
	/* Keep a family together so rendering writes HELP/TYPE once. */
	for (struct metric *p = metrics_head; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			last_of_name = p;
	if (last_of_name != NULL) {
		m->next = last_of_name->next;
		last_of_name->next = m;
		if (metrics_tail == last_of_name)
			metrics_tail = m;
	} else if (metrics_tail != NULL) {
		metrics_tail->next = m;
		metrics_tail = m;
	} else {
		metrics_head = metrics_tail = m;
	}
	return m;
}

struct metric *
metrics_counter(const char *name, const char *labels, const char *help)
{
	return metric_register(METRIC_COUNTER, name, labels, help);
}

struct metric *
metrics_gauge(const char *name, const char *labels, const char *help)
{
	return metric_register(METRIC_GAUGE, name, labels, help);
}

struct metric *
metrics_histogram(const char *name, const char *labels, const char *help,
    const double *bounds, size_t nbounds)
{
	struct metric *m = metric_register(METRIC_HISTOGRAM, name, labels, help);

	if (m->bounds == NULL) {
		m->bounds = xcalloc(nbounds, sizeof(double));
		memcpy(m->bounds, bounds, nbounds * sizeof(double));
		m->buckets = xcalloc(nbounds + 1, sizeof(uint64_t));
		m->nbounds = nbounds;
	}
	return m;
}

void
metrics_add(struct metric *m, double v)
{
	m->value += v;
}

void
metrics_inc(struct metric *m)
{
	m->value += 1;
}

void
metrics_set(struct metric *m, double v)
{
	m->value = v;
}

void
metrics_observe(struct metric *m, double v)
{
	size_t i;

	for (i = 0; i < m->nbounds && v > m->bounds[i]; i++)
		;
	m->buckets[i]++;
	m->count++;
	m->value += v;
}

double
metrics_value(const struct metric *m)
{
	return m->value;
}

static void
render_value(struct evbuffer *buf, double v)
{
	if (isinf(v))
		evbuffer_add_printf(buf, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(buf, "%.0f", v);
	else
		evbuffer_add_printf(buf, "%.17g", v);
}

static void
render_sample(struct evbuffer *buf, const char *name, const char *suffix,
    const char *labels, const char *extra, double v)
{
	evbuffer_add_printf(buf, "%s%s", name, suffix);
	if (labels[0] != '\0' || extra != NULL) {
		evbuffer_add_printf(buf, "{%s%s%s}", labels,
		    labels[0] != '\0' && extra != NULL ? "," : "",
		    extra != NULL ? extra : "");
	}
	evbuffer_add(buf, " ", 1);
	render_value(buf, v);
	evbuffer_add(buf, "\n", 1);
}

void
metrics_render(struct evbuffer *buf)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	const char *family = NULL;

	for (struct metric *m = metrics_head; m != NULL; m = m->next) {
		if (family == NULL || strcmp(family, m->name) != 0) {
			evbuffer_add_printf(buf, "# HELP %s %s\n# TYPE %s %s\n",
			    m->name, m->help, m->name, type_names[m->type]);
			family = m->name;
		}
		if (m->type != METRIC_HISTOGRAM) {
			render_sample(buf, m->name, "", m->labels, NULL, m->value);
			continue;
		}
		uint64_t cum = 0;
		char le[64];

		for (size_t i = 0; i <= m->nbounds; i++) {
			cum += m->buckets[i];
			if (i < m->nbounds)
				snprintf(le, sizeof(le), "le=\"%g\"", m->bounds[i]);
			else
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			render_sample(buf, m->name, "_bucket", m->labels, le,
			    (double)cum);
		}
		render_sample(buf, m->name, "_sum", m->labels, NULL, m->value);
		render_sample(buf, m->name, "_count", m->labels, NULL,
		    (double)m->count);
	}
}

void
metrics_reset(void)
{
	struct metric *m = metrics_head, *next;

	for (; m != NULL; m = next) {
		next = m->next;
		free(m->name);
		free(m->labels);
		free(m->help);
		free(m->bounds);
		free(m->buckets);
		free(m);
	}
	metrics_head = metrics_tail = NULL;
}

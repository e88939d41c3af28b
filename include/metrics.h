#ifndef PACED_METRICS_H
#define PACED_METRICS_H

/*
 * Counters, gauges and histograms, registered once by name and labels and
 * then updated through the returned handle (no lookup on the hot path),
 * rendered in the Prometheus text format. Loop thread only.
 */

#include <stddef.h>
#include <stdint.h>

struct metric;
struct evbuffer;

/* Registers (or finds) a counter; labels like `outcome="counted"` or NULL.
 * Returns a handle owned by the registry, valid until metrics_reset(). */
struct metric *metrics_counter(const char *name, const char *labels,
    const char *help);
/* Registers (or finds) a gauge. */
struct metric *metrics_gauge(const char *name, const char *labels,
    const char *help);
/* Registers (or finds) a histogram with nbounds ascending upper bounds
 * (borrowed; copied). */
struct metric *metrics_histogram(const char *name, const char *labels,
    const char *help, const double *bounds, size_t nbounds);

void metrics_add(struct metric *m, double v);
void metrics_inc(struct metric *m);
void metrics_set(struct metric *m, double v);
void metrics_observe(struct metric *m, double v);
/* Current value of a counter or gauge (tests, readiness). */
double metrics_value(const struct metric *m);

/* Appends every metric in the text format to buf (borrowed). */
void metrics_render(struct evbuffer *buf);
/* Frees every metric; handles become invalid. */
void metrics_reset(void);

#endif

#ifndef PACED_DIGEST_RUN_H
#define PACED_DIGEST_RUN_H

/*
 * Scheduled digests on the loop (alerts.digest; the rules in digest.h):
 * a timer looks at a bounded number of managers per tick, and each one
 * whose digest is due is claimed in Redis (P:digest:<kind>:<manager>:<date>,
 * so that it goes out once whatever the number of processes and
 * restarts), built from its reps' pace figures (P:{rep:R}:pace:...,
 * read a bounded number of reps at a time) and posted to the digest
 * webhooks through the sinks.
 */

struct config;
struct digest_run;
struct event_base;
struct redis_conn;
struct sinks;

/* Borrows all; cfg until the next digest_run_set_config. Returns owned;
 * free with digest_run_free. */
struct digest_run *digest_run_new(struct event_base *base,
    const struct config *cfg, struct redis_conn *conn, struct sinks *sinks);
/* Takes the config in force (borrowed until the next call). */
void digest_run_set_config(struct digest_run *d, const struct config *cfg);
/* Frees d; a digest being built is dropped (its claim lapses and another
 * pass sends it). NULL does nothing. */
void digest_run_free(struct digest_run *d);

#endif

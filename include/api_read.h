#ifndef PACED_API_READ_H
#define PACED_API_READ_H

/*
 * One HTTP API request's Redis reads: its commands go through the read
 * gate, and once the last reply is in the request is answered, or
 * answered 503 when a read failed or the config was reloaded meanwhile,
 * then freed. A route module embeds a struct api_read in its request and
 * keeps a struct api_read_list of the requests waiting; when the module
 * is freed first, api_read_orphan_all lets them go: their replies still
 * come (the gate or the connection calls back), and the last one frees
 * the request without answering.
 */

#include <stdbool.h>
#include <sys/queue.h>

#include <hiredis/hiredis.h>

#include "read_gate.h"
#include "redis_conn.h"

struct api_read;

struct api_read_ops {
	/* A reply (not an error) to the command sent with cmd. Not called
	 * once the request is orphaned or failed, or its config reloaded.
	 * False: the reply has the wrong shape, the request fails. */
	bool (*take)(struct api_read *ar, void *cmd, const redisReply *r);
	/* True when the config or roster the request was built from is no
	 * longer the daemon's: its pointers into them may be gone. */
	bool (*reloaded)(const struct api_read *ar);
	/* Every reply is in: the answer. */
	void (*answer)(struct api_read *ar);
	/* An error answer (a JSON body). */
	void (*error)(struct api_read *ar, int code, const char *msg);
	/* Frees the request ar is part of. */
	void (*free)(struct api_read *ar);
};

struct api_read {
	const struct api_read_ops *ops;
	struct api_read_list *list;	/* NULL: orphaned */
	TAILQ_ENTRY(api_read) entry;
	int outstanding;
	bool failed;
};

TAILQ_HEAD(api_read_list, api_read);

/* Puts ar (zeroed by its owner) on list, held until api_read_end. */
void api_read_begin(struct api_read *ar, const struct api_read_ops *ops,
    struct api_read_list *list);
/* Sends the command v holds (borrowed) through g; cmd is handed to
 * ops->take with its reply. A send that fails makes the request fail. */
void api_read_send(struct api_read *ar, struct read_gate *g,
    struct redis_argv *v, void *cmd);
/* Every command sent: drops the hold. ar may be answered and freed here
 * (when every reply is in already, or none was sent). */
void api_read_end(struct api_read *ar);
/* The list's owner goes: every request on it is orphaned. */
void api_read_orphan_all(struct api_read_list *list);

#endif

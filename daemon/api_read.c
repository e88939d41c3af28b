/*
 * api_read.c: the life of an HTTP API request's Redis reads (api_read.h),
 * for the routes that read several keys (boards, contests, funnels).
 */
#include "api_read.h"

#include <stdlib.h>

#include "xmalloc.h"

/* What a command's reply finds its request by. */
struct api_cmd {
	struct api_read *ar;
	void *cmd;
};

void
api_read_begin(struct api_read *ar, const struct api_read_ops *ops,
    struct api_read_list *list)
{
	ar->ops = ops;
	ar->list = list;
	ar->outstanding = 1;	/* held while sending */
	ar->failed = false;
	TAILQ_INSERT_TAIL(list, ar, entry);
}

/* One reply less to wait for; the last one answers and frees. */
static void
release(struct api_read *ar)
{
	if (--ar->outstanding > 0)
		return;
	if (ar->list == NULL) {
		ar->ops->free(ar);
		return;
	}
	TAILQ_REMOVE(ar->list, ar, entry);
	ar->list = NULL;
	if (ar->failed)
		ar->ops->error(ar, 503, "redis unavailable");
	else if (ar->ops->reloaded(ar))
		ar->ops->error(ar, 503, "the config was reloaded; retry");
	else
		ar->ops->answer(ar);
	ar->ops->free(ar);
}

static void
on_reply(const redisReply *r, void *arg)
{
	struct api_cmd *c = arg;
	struct api_read *ar = c->ar;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		ar->failed = true;
	else if (ar->list != NULL && !ar->failed && !ar->ops->reloaded(ar) &&
	    !ar->ops->take(ar, c->cmd, r))
		ar->failed = true;
	free(c);
	release(ar);
}

void
api_read_send(struct api_read *ar, struct read_gate *g, struct redis_argv *v,
    void *cmd)
{
	struct api_cmd *c = xmalloc(sizeof(*c));

	c->ar = ar;
	c->cmd = cmd;
	if (read_gate_send(g, v, on_reply, c) != 0) {
		free(c);
		ar->failed = true;
		return;
	}
	ar->outstanding++;
}

void
api_read_end(struct api_read *ar)
{
	release(ar);
}

void
api_read_orphan_all(struct api_read_list *list)
{
	struct api_read *ar;

	while ((ar = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, ar, entry);
		ar->list = NULL;
	}
}

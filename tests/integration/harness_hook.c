/*
 * Integration test harness: a webhook receiver on the test's own event
 * base. Every POST is answered 200 and kept parsed (cJSON; NULL when the
 * body is not JSON), at most HOOK_MAX of them; the test runs the loop
 * while it waits, so that the daemon's posts are answered in time.
 */

#include "harness.h"
#include "harness_impl.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define HOOK_MAX	64

static struct {
	struct event_base *base;
	struct evhttp *http;
	cJSON *posts[HOOK_MAX];
	size_t n;
} K;

static void
receive(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = xmalloc(len + 1);

	(void)arg;
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if (K.n < HOOK_MAX) {
		K.posts[K.n++] = cJSON_Parse(body);
		harness_log("received %zu bytes: %.300s", len, body);
	}
	free(body);
	evhttp_send_reply(req, 200, "OK", NULL);
}

int
harness_hook_start(void)
{
	int port = harness_free_port();

	if (port <= 0)
		return -1;
	harness_hook_reset();
	K.base = event_base_new();
	K.http = evhttp_new(K.base);
	evhttp_set_allowed_methods(K.http, EVHTTP_REQ_POST);
	evhttp_set_gencb(K.http, receive, NULL);
	if (evhttp_bind_socket(K.http, "127.0.0.1", (unsigned short)port) !=
	    0) {
		harness_log("webhook receiver: cannot bind port %d", port);
		harness_hook_reset();
		return -1;
	}
	return port;
}

size_t
harness_hook_count(void)
{
	return K.n;
}

const cJSON *
harness_hook_post(size_t i)
{
	return i < K.n ? K.posts[i] : NULL;
}

/* Runs the loop until pred(arg) (NULL: never) or the deadline. */
static bool
run(bool (*pred)(void *), void *arg, int timeout_ms)
{
	return harness_loop_until(K.base, pred, arg, timeout_ms);
}

bool
harness_hook_run_until(bool (*pred)(void *), void *arg, int timeout_ms,
    const char *what)
{
	if (run(pred, arg, timeout_ms))
		return true;
	harness_log("timed out after %d ms waiting for %s", timeout_ms, what);
	return false;
}

void
harness_hook_drain(int ms)
{
	(void)run(NULL, NULL, ms);
}

void
harness_hook_reset(void)
{
	if (K.http != NULL)
		evhttp_free(K.http);
	for (size_t i = 0; i < K.n; i++)
		cJSON_Delete(K.posts[i]);
	if (K.base != NULL)
		event_base_free(K.base);
	memset(&K, 0, sizeof(K));
}

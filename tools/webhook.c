/*
 * webhook.c: paced-webhook, a tiny receiver for paced's alert webhooks,
 * for `make run` and for trying a webhook config by hand. It listens with
 * libevent's evhttp (loopback by default), and for each POST prints the
 * body's "text" (the Slack-style message of a digest or a single alert)
 * to stdout under a line saying what arrived, then answers 200, or the
 * status given with --status to watch paced retry and back off.
 *
 * One event loop, no threads; SIGINT and SIGTERM end the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "caltime.h"
#include "log.h"
#include "xmalloc.h"

#define WEBHOOK_MAX_BODY	(4 * 1024 * 1024)

struct webhook {
	int status;		/* the answer to every POST */
	unsigned long posts;
	unsigned long unreadable;
	struct event_base *base;
};

static const char *
webhook_reason(int code)
{
	if (code >= 200 && code < 300)
		return "OK";
	if (code == 400)
		return "Bad Request";
	if (code == 405)
		return "Method Not Allowed";
	if (code == 429)
		return "Too Many Requests";
	if (code == 503)
		return "Service Unavailable";
	return "Error";
}

static void
webhook_answer(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, webhook_reason(code), b);
	evbuffer_free(b);
}

/* What a body is, for the line above its text. */
static void
webhook_describe(const cJSON *o, char *buf, size_t size)
{
	const cJSON *alerts = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	const cJSON *alert = cJSON_GetObjectItemCaseSensitive(o, "alert");
	const cJSON *mgr = cJSON_GetObjectItemCaseSensitive(o, "manager_id");

	if (cJSON_IsArray(alerts)) {
		snprintf(buf, size, "digest for %s, %d alert%s",
		    cJSON_IsString(mgr) ? mgr->valuestring : "(no manager)",
		    cJSON_GetArraySize(alerts),
		    cJSON_GetArraySize(alerts) == 1 ? "" : "s");
	} else if (cJSON_IsObject(alert)) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(alert,
		    "alert_id");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(alert,
		    "status");

		snprintf(buf, size, "alert %s %s",
		    cJSON_IsString(id) ? id->valuestring : "?",
		    cJSON_IsString(st) ? st->valuestring : "?");
	} else
		snprintf(buf, size, "message");
}

static void
webhook_request(struct evhttp_request *req, void *arg)
{
	struct webhook *w = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *uri = evhttp_request_get_uri(req);
	const cJSON *text;
	char *body, ts[40], what[160];
	cJSON *o;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		webhook_answer(req, 405, "POST only");
		return;
	}
	body = xmalloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	o = cJSON_ParseWithLength(body, len);
	free(body);
	caltime_format_utc(caltime_wall_ms(), ts, sizeof(ts));
	w->posts++;
	text = cJSON_GetObjectItemCaseSensitive(o, "text");
	if (!cJSON_IsObject(o) || !cJSON_IsString(text)) {
		w->unreadable++;
		printf("== %s POST %s: %zu bytes without a JSON \"text\"\n",
		    ts, uri, len);
		fflush(stdout);
		cJSON_Delete(o);
		webhook_answer(req, 400, "want a JSON object with \"text\"");
		return;
	}
	webhook_describe(o, what, sizeof(what));
	printf("== %s POST %s: %s (answered %d)\n%s\n\n", ts, uri, what,
	    w->status, text->valuestring);
	fflush(stdout);
	cJSON_Delete(o);
	webhook_answer(req, w->status, w->status >= 200 && w->status < 300 ?
	    "ok" : "failing on purpose (--status)");
}

static void
webhook_signal(evutil_socket_t sig, short what, void *arg)
{
	struct webhook *w = arg;

	(void)sig;
	(void)what;
	event_base_loopexit(w->base, NULL);
}

/* Splits "host:port" or "[v6]:port" into host (owned) and port. */
static int
webhook_parse_listen(const char *s, char **host, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (colon == NULL || colon == s)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 ||
	    p > 65535)
		return -1;
	if (s[0] == '[' && colon[-1] == ']')
		*host = xstrndup(s + 1, (size_t)(colon - s - 2));
	else
		*host = xstrndup(s, (size_t)(colon - s));
	*port = (int)p;
	return 0;
}

/* The bound address as host:port (IPv6 in brackets) into buf. */
static int
webhook_bound(evutil_socket_t fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(a->sin_port));
	}
	return 0;
}

/* Writes line to path through a temporary file and a rename, so a reader
 * never sees half of it. */
static void
webhook_write_addr(const char *path, const char *line)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");

	if (f == NULL || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		fatalx("addr_file", "path=%s err=%s", log_quote(path),
		    log_quote(strerror(errno)));
	free(tmp);
}

static void __attribute__((noreturn))
webhook_usage(FILE *f, int status)
{
	fprintf(f,
"usage: paced-webhook [--listen HOST:PORT] [--addr-file PATH] [--status CODE]\n"
"\n"
"Receives paced's alert webhooks and prints each message's \"text\" to\n"
"stdout, under a line with the time, the path and what it was (a digest for\n"
"a manager, or one alert).\n"
"\n"
"  --listen HOST:PORT  where to listen (default 127.0.0.1:0, a free port)\n"
"  --addr-file PATH    write the bound HOST:PORT to PATH once listening\n"
"                      (atomically); removed at exit\n"
"  --status CODE       answer every POST with CODE (default 200); e.g. 503\n"
"                      to watch paced retry with backoff\n"
"\n"
"A body that is not a JSON object with a string \"text\" gets 400. Runs\n"
"until SIGINT or SIGTERM, then prints how many messages came on stderr.\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument, NULL, 'l' },
		{ "addr-file",	required_argument, NULL, 'a' },
		{ "status",	required_argument, NULL, 's' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:0", *addr_file = NULL;
	struct webhook w = { .status = 200 };
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *sigint, *sigterm;
	char *host = NULL, addr[96], *end;
	int port, ch;
	long code;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'a':
			addr_file = optarg;
			break;
		case 's':
			errno = 0;
			code = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || code < 100 ||
			    code > 599)
				fatalx("usage",
				    "msg=\"--status wants 100..599\"");
			w.status = (int)code;
			break;
		case 'h':
			webhook_usage(stdout, 0);
		default:
			webhook_usage(stderr, 2);
		}
	}
	if (optind != argc)
		webhook_usage(stderr, 2);
	if (webhook_parse_listen(listen, &host, &port) != 0)
		fatalx("usage", "msg=\"--listen wants HOST:PORT\"");

	signal(SIGPIPE, SIG_IGN);
	if ((w.base = event_base_new()) == NULL ||
	    (http = evhttp_new(w.base)) == NULL)
		fatalx("libevent", "msg=\"cannot set up the event loop\"");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(http, WEBHOOK_MAX_BODY);
	evhttp_set_timeout(http, 30);
	evhttp_set_gencb(http, webhook_request, &w);
	if ((sock = evhttp_bind_socket_with_handle(http, host,
	    (ev_uint16_t)port)) == NULL)
		fatalx("listen", "addr=%s msg=\"cannot bind\"",
		    log_quote(listen));
	if (webhook_bound(evhttp_bound_socket_get_fd(sock), addr,
	    sizeof(addr)) != 0)
		fatalx("listen", "err=%s", log_quote(strerror(errno)));
	sigint = evsignal_new(w.base, SIGINT, webhook_signal, &w);
	sigterm = evsignal_new(w.base, SIGTERM, webhook_signal, &w);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	if (addr_file != NULL)
		webhook_write_addr(addr_file, addr);
	log_info("webhook_listening", "addr=%s url=http://%s/ status=%d", addr,
	    addr, w.status);

	event_base_dispatch(w.base);

	log_info("webhook_done", "posts=%lu unreadable=%lu", w.posts,
	    w.unreadable);
	if (addr_file != NULL)
		unlink(addr_file);
	event_free(sigint);
	event_free(sigterm);
	evhttp_free(http);
	event_base_free(w.base);
	free(host);
	return 0;
}

/*
 * libFuzzer target for HTTP request dispatch (http_route): the routes,
 * the bearer token, the query string and the scorecard's period and at.
 * The input is a flags byte (bit 0: the method is GET, bit 1: a token is
 * configured, bit 2: an Authorization header is sent), then the request
 * URI up to the first newline, parsed the way evhttp parses a request
 * line's, then the Authorization header's value. Any bytes must give a
 * route or a 4xx with a reason, never a crash or a leak; a /v1/ route is
 * only given with the right token, and a scorecard only for an id that
 * keeps the rep_id rule, and a contest only for an id of the contest id
 * rule with a limit in its bounds.
 */
#include "http_route.h"

#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN	"s3cret-t0ken"

#define check(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request_route rt;
	struct evhttp_uri *uri;
	char *buf, *nl, *auth = NULL;
	unsigned flags;
	bool get;
	const char *token;

	if (size < 1)
		return 0;
	flags = data[0];
	get = (flags & 1) != 0;
	token = (flags & 2) != 0 ? TOKEN : NULL;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if ((flags & 4) != 0)
			auth = nl + 1;
	}
	/* evhttp answers 400 itself to a URI it cannot parse. */
	if ((uri = evhttp_uri_parse_with_flags(buf,
	    EVHTTP_URI_NONCONFORMANT)) == NULL) {
		free(buf);
		return 0;
	}
	http_route(get, evhttp_uri_get_path(uri), evhttp_uri_get_query(uri),
	    auth, token, &rt);
	switch (rt.route) {
	case HTTP_ROUTE_ERROR:
		check(rt.code == 400 || rt.code == 401 || rt.code == 404 ||
		    rt.code == 405);
		check(rt.err[0] != '\0');
		check(memchr(rt.err, '\0', sizeof(rt.err)) != NULL);
		check(rt.code != 405 || !get);
		break;
	case HTTP_ROUTE_SCORECARD:
	case HTTP_ROUTE_CONTEST:
	case HTTP_ROUTE_CONTESTS:
	case HTTP_ROUTE_BOARDS:
	case HTTP_ROUTE_ALERTS:
	case HTTP_ROUTE_ORG:
	case HTTP_ROUTE_STREAM:
	case HTTP_ROUTE_FUNNEL:
		check(get);
		check(token == NULL || (auth != NULL &&
		    strcmp(auth, "Bearer " TOKEN) == 0));
		break;
	case HTTP_ROUTE_HEALTHZ:
	case HTTP_ROUTE_READYZ:
	case HTTP_ROUTE_METRICS:
	case HTTP_ROUTE_DASH:		/* the page: no token */
		check(get);
		break;
	}
	/* Each route's own parameters. */
	if (rt.route == HTTP_ROUTE_SCORECARD) {
		size_t n = strlen(rt.rep_id);

		check(n >= 1 && n <= EVENT_REP_MAX);
		check(strspn(rt.rep_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._@-") == n);
		check(rt.period >= 0 && rt.period < PERIOD_COUNT);
	}
	if (rt.route == HTTP_ROUTE_FUNNEL) {
		size_t n = strlen(rt.rep_id);

		check(rt.funnel == HTTP_FUNNEL_ORG || rt.funnel ==
		    HTTP_FUNNEL_TEAM || rt.funnel == HTTP_FUNNEL_REP);
		check(rt.funnel == HTTP_FUNNEL_ORG ? n == 0 :
		    n >= 1 && n <= EVENT_REP_MAX);
		check(strspn(rt.rep_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._@-") == n);
		check(rt.period >= 0 && rt.period < PERIOD_COUNT);
	}
	if (rt.route == HTTP_ROUTE_CONTEST) {
		size_t n = strlen(rt.contest_id);

		check(n >= 1 && n <= HTTP_CONTEST_ID_MAX);
		check(strspn(rt.contest_id, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789_-") == n);
		check(rt.limit >= 1 && rt.limit <= HTTP_CONTEST_LIMIT_MAX);
	}
	evhttp_uri_free(uri);
	free(buf);
	return 0;
}

/*
 * netaddr.c: addresses as written, before anything is resolved: address
 * literals, for the clients that resolve host names with evdns before
 * they connect, and the address strings of the config file (host:port,
 * redis:// and unix:// urls, webhook urls), parsed here so the loader
 * only reports. Pure.
 */
#include "netaddr.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#define URL_MAX		2048

bool
netaddr_is_numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* "1234" within [lo, hi], the whole string. */
static int
parse_port(const char *s, size_t len, int lo, int *port)
{
	int	 v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/*
 * Splits "host:port" or "[v6]:port" (port optional when defport >= 0).
 * Returns 0 with owned *host, or -1 with the reason in err.
 */
int
netaddr_split_host_port(const char *s, size_t len, int defport, int minport,
    char **host, int *port, char *err, size_t errlen)
{
	const char	*colon = NULL, *h = s;
	size_t		 hlen;

	if (len > 0 && s[0] == '[') {
		const char	*rb = memchr(s, ']', len);

		if (rb == NULL) {
			snprintf(err, errlen, "missing ] after an IPv6 "
			    "address");
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(rb - h);
		if ((size_t)(rb + 1 - s) < len) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "expected :port after ]");
				return -1;
			}
			colon = rb + 1;
		}
	} else {
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':') {
				if (colon != NULL) {
					snprintf(err, errlen, "write an IPv6 "
					    "address in brackets: [::1]:port");
					return -1;
				}
				colon = s + i;
			}
		hlen = colon != NULL ? (size_t)(colon - s) : len;
	}
	if (hlen == 0) {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	for (size_t i = 0; i < hlen; i++)
		if (h[i] == '/' || h[i] == '@' || h[i] == ' ' ||
		    (unsigned char)h[i] < 0x20) {
			snprintf(err, errlen, "invalid host");
			return -1;
		}
	if (colon == NULL) {
		if (defport < 0) {
			snprintf(err, errlen, "missing :port");
			return -1;
		}
		*port = defport;
	} else if (parse_port(colon + 1, (size_t)(s + len - colon - 1),
	    minport, port) != 0) {
		snprintf(err, errlen, "invalid port (%d to 65535)", minport);
		return -1;
	}
	*host = xstrndup(h, hlen);
	return 0;
}

void
netaddr_redis_clear(struct netaddr_redis *a)
{
	free(a->host);
	free(a->unix_path);
	free(a->username);
	free(a->password);
	memset(a, 0, sizeof(*a));
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX escapes of a url's user or password; NULL when bad. */
static char *
pct_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1);
	size_t	 o = 0;

	for (size_t i = 0; i < len; i++) {
		int	 hi, lo;

		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
		    (lo = hexval(s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static int
parse_db(const char *s, size_t len, int *db)
{
	long long	 v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*db = (int)v;
	return 0;
}

/*
 * redis[s]://[user[:password]@]host[:port][/db] or unix:///path[?db=N].
 * The url may hold a password, so err never quotes it.
 */
int
netaddr_redis_parse(const char *url, struct netaddr_redis *a, char *err,
    size_t errlen)
{
	const char	*p, *auth_end, *at = NULL, *hp;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		const char	*q;

		p = url + 7;
		if (*p != '/') {
			snprintf(err, errlen, "a unix url needs an absolute "
			    "path: unix:///path/redis.sock");
			return -1;
		}
		q = strchr(p, '?');
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
		    parse_db(q + 4, strlen(q + 4), &a->db) != 0)) {
			snprintf(err, errlen, "the only query is ?db=N");
			return -1;
		}
		if ((q != NULL ? (size_t)(q - p) : strlen(p)) < 2) {
			snprintf(err, errlen, "missing socket path");
			return -1;
		}
		a->port = 0;
		a->unix_path = q != NULL ? xstrndup(p, (size_t)(q - p)) :
		    xstrdup(p);
		return 0;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		a->tls = true;
		p = url + 9;
	} else if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else {
		snprintf(err, errlen, "unsupported scheme (use redis://host:"
		    "port/db or unix:///path/redis.sock)");
		return -1;
	}
	auth_end = p + strcspn(p, "/?#");
	for (const char *c = p; c < auth_end; c++)
		if (*c == '@')
			at = c;
	hp = p;
	if (at != NULL) {
		const char	*colon = memchr(p, ':', (size_t)(at - p));
		size_t		 ulen;

		ulen = colon != NULL ? (size_t)(colon - p) : (size_t)(at - p);

		if (ulen > 0 && (a->username = pct_decode(p, ulen)) == NULL)
			goto badesc;
		if (colon != NULL && (a->password = pct_decode(colon + 1,
		    (size_t)(at - colon - 1))) == NULL)
			goto badesc;
		if (a->password != NULL && *a->password == '\0') {
			free(a->password);
			a->password = NULL;
		}
		hp = at + 1;
	}
	if (netaddr_split_host_port(hp, (size_t)(auth_end - hp), 6379, 1,
	    &a->host, &a->port, err, errlen) != 0)
		goto fail;
	if (*auth_end == '/' && auth_end[1] != '\0' &&
	    parse_db(auth_end + 1, strlen(auth_end + 1), &a->db) != 0) {
		snprintf(err, errlen, "the path must be a database number");
		goto fail;
	}
	if (*auth_end == '?' || *auth_end == '#') {
		snprintf(err, errlen, "unexpected query or fragment");
		goto fail;
	}
	return 0;
badesc:
	snprintf(err, errlen, "bad %%-escape in the user or password");
fail:
	netaddr_redis_clear(a);
	return -1;
}

static bool
host_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_');
}

/*
 * http[s]://host[:port]/path, host a name, an IPv4 address or [IPv6]. A
 * webhook url often holds a token in its path, so err never quotes it.
 */
int
netaddr_webhook_check(const char *url, char *err, size_t errlen)
{
	const char	*hp, *path;
	char		*host;
	int		 port, rc = 0, defport;
	unsigned char	 addr[16];

	if (strncmp(url, "https://", 8) == 0) {
		hp = url + 8;
		defport = 443;
	} else if (strncmp(url, "http://", 7) == 0) {
		hp = url + 7;
		defport = 80;
	} else {
		snprintf(err, errlen, "unsupported scheme (use "
		    "https://host[:port]/path or http://host[:port]/path)");
		return -1;
	}
	if (strlen(url) > URL_MAX) {
		snprintf(err, errlen, "longer than %d bytes", URL_MAX);
		return -1;
	}
	if ((path = strchr(hp, '/')) == NULL) {
		snprintf(err, errlen, "missing /path after the host (e.g. "
		    "http://host:8080/paced)");
		return -1;
	}
	if (memchr(hp, '@', (size_t)(path - hp)) != NULL) {
		snprintf(err, errlen, "user:password@ is not supported (give "
		    "a bearer token with token_file)");
		return -1;
	}
	if (netaddr_split_host_port(hp, (size_t)(path - hp), defport, 1, &host,
	    &port, err, errlen) != 0)
		return -1;
	if (hp[0] == '[') {
		if (inet_pton(AF_INET6, host, addr) != 1) {
			snprintf(err, errlen, "invalid IPv6 address");
			rc = -1;
		}
	} else if (strspn(host, "0123456789.") == strlen(host)) {
		if (inet_pton(AF_INET, host, addr) != 1) {
			snprintf(err, errlen, "invalid IPv4 address");
			rc = -1;
		}
	} else {
		for (const char *p = host; *p != '\0'; p++)
			if (!host_char(*p)) {
				snprintf(err, errlen, "invalid host name (A-Z "
				    "a-z 0-9 . - _; an IPv6 address goes in "
				    "brackets)");
				rc = -1;
				break;
			}
	}
	free(host);
	for (const char *p = path; rc == 0 && *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#') {
			snprintf(err, errlen, "the path holds a space, a "
			    "control character or a #");
			rc = -1;
		}
	return rc;
}

#ifndef PACED_NETADDR_H
#define PACED_NETADDR_H

/*
 * Network address helpers shared by the clients that connect from the
 * loop (Redis, webhooks): a host that is already an address needs no
 * resolving, and a name must be resolved asynchronously (evdns), never
 * with a blocking getaddrinfo on the loop. The config loader parses its
 * address strings here too: they may hold a password or a token, so no
 * message quotes them.
 */

#include <stdbool.h>
#include <stddef.h>

/* What a redis:// or unix:// url says. */
struct netaddr_redis {
	char	*host;
	int	 port;
	char	*unix_path;
	char	*username;
	char	*password;
	int	 db;
	bool	 tls;		/* rediss:// */
};

/* True when host (borrowed) is an IPv4 or IPv6 address literal. */
bool netaddr_is_numeric(const char *host);

/*
 * Splits s[0..len) (borrowed), "host:port" or "[v6]:port"; the port may be
 * left out when defport >= 0 and is at least minport. Returns 0 with
 * *host owned (free it), or -1 with the reason in err.
 */
int netaddr_split_host_port(const char *s, size_t len, int defport,
    int minport, char **host, int *port, char *err, size_t errlen);

/*
 * Parses url (borrowed), redis://[user[:password]@]host[:port][/db] (or
 * rediss://, the same over TLS) or unix:///path[?db=N], into *a, whose strings are then owned: free with
 * netaddr_redis_clear. Returns -1 with the reason in err (never quoting
 * the password) and *a empty.
 */
int netaddr_redis_parse(const char *url, struct netaddr_redis *a, char *err,
    size_t errlen);

/* Frees the strings *a owns and empties it. */
void netaddr_redis_clear(struct netaddr_redis *a);

/*
 * Checks url (borrowed), https://host[:port]/path or http://..., with host
 * a name, an IPv4 address or [IPv6]. Returns -1 with the reason in err, never quoting the
 * url (its path often holds a token).
 */
int netaddr_webhook_check(const char *url, char *err, size_t errlen);

#endif

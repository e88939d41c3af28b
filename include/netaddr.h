#ifndef PACED_NETADDR_H
#define PACED_NETADDR_H

/*
 * Network address helpers shared by the clients that connect from the
 * loop (Redis, webhooks): a host that is already an address needs no
 * resolving, and a name must be resolved asynchronously (evdns), never
 * with a blocking getaddrinfo on the loop.
 */

#include <stdbool.h>

/* True when host (borrowed) is an IPv4 or IPv6 address literal. */
bool netaddr_is_numeric(const char *host);

#endif

/*
 * netaddr.c: address literals, for the clients that resolve host names
 * with evdns before they connect. Pure.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

bool
netaddr_is_numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

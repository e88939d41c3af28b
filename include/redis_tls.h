#ifndef PACED_REDIS_TLS_H
#define PACED_REDIS_TLS_H

/*
 * TLS to Redis (rediss:// urls) for every client of paced (the main and
 * read connections, the change stream's, `paced plan`'s): hiredis 1.x
 * built with hiredis_ssl does the handshake; hiredis 0.14 (Debian 12)
 * has no TLS, and this build then refuses rediss:// at config check.
 */

#include <stdbool.h>
#include <stddef.h>

struct redisContext;

/* True when this build speaks TLS to Redis. */
bool redis_tls_supported(void);
/* The hiredis version this build uses, "0.14" (static storage). */
const char *redis_tls_hiredis_version(void);
/*
 * Starts TLS on the connected (or connecting) context rc (borrowed),
 * verifying the server's certificate chain against ca_file (NULL: the
 * system's store) and its name against host (a name or an address).
 * Returns 0, or -1 with the reason in err.
 */
int redis_tls_initiate(struct redisContext *rc, const char *host,
    const char *ca_file, char *err, size_t errlen);

#endif

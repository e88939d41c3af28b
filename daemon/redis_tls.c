/*
 * redis_tls.c: TLS for the hiredis connections, when hiredis is 1.x and
 * built with hiredis_ssl (the Makefile defines PACED_HIREDIS_SSL when
 * pkg-config finds hiredis_ssl >= 1.0). Our own OpenSSL SSL object is
 * handed to redisInitiateSSL rather than one made by
 * redisCreateSSLContext: hiredis before 1.3 sends the server name for SNI
 * only and never matches it against the certificate, and a TLS client
 * that accepts any certificate of a trusted CA for any host is not one.
 * The handshake then runs inside hiredis, on the loop for the async
 * connections. Called from the loop, or at startup for `paced plan`.
 */
#include "redis_tls.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#ifdef PACED_HIREDIS_SSL
#include <hiredis/hiredis_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "netaddr.h"
#endif

#define STR_(x)	#x
#define STR(x)	STR_(x)

bool
redis_tls_supported(void)
{
#ifdef PACED_HIREDIS_SSL
	return HIREDIS_MAJOR >= 1;
#else
	return false;
#endif
}

const char *
redis_tls_hiredis_version(void)
{
	return STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR);
}

#ifdef PACED_HIREDIS_SSL
int
redis_tls_initiate(struct redisContext *rc, const char *host,
    const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	int ok;

	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file,
	    NULL) : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		snprintf(err, errlen, "cannot load the CA certificates%s%s",
		    ca_file != NULL ? " of " : "", ca_file != NULL ? ca_file :
		    "");
		SSL_CTX_free(ctx);
		return -1;
	}
	/* The SSL object holds its own reference to ctx. */
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (ssl == NULL) {
		snprintf(err, errlen, "SSL_new failed");
		return -1;
	}
	if (netaddr_is_numeric(host))
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else
		ok = SSL_set_tlsext_host_name(ssl, host) &&
		    SSL_set1_host(ssl, host);
	if (!ok) {
		snprintf(err, errlen, "cannot set the name to verify");
		SSL_free(ssl);
		return -1;
	}
	/* hiredis owns ssl once this succeeds; on failure it has freed
	 * its own wrapper only (ssl.c, redisSSLConnect, 1.0 to 1.2). */
	if (redisInitiateSSL(rc, ssl) != REDIS_OK) {
		snprintf(err, errlen, "%s", rc->errstr[0] != '\0' ?
		    rc->errstr : "TLS handshake failed");
		SSL_free(ssl);
		return -1;
	}
	return 0;
}
#else
int
redis_tls_initiate(struct redisContext *rc, const char *host,
    const char *ca_file, char *err, size_t errlen)
{
	(void)rc;
	(void)host;
	(void)ca_file;
	snprintf(err, errlen, "this paced is built against hiredis %s, "
	    "which has no TLS", redis_tls_hiredis_version());
	return -1;
}
#endif

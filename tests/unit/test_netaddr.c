#include "netaddr.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/*
 * The address strings of the config file, parsed on their own. The config
 * tests see the same rules through the loader's messages; these pin the
 * parsed parts and that no message quotes a password or a url.
 */

static char *
split_ok(const char *s, int defport, int minport, int want_port)
{
	char	*host = NULL, err[128] = "";
	int	 port = -1;

	cr_assert_eq(netaddr_split_host_port(s, strlen(s), defport, minport,
	    &host, &port, err, sizeof(err)), 0, "%s: %s", s, err);
	cr_assert_eq(port, want_port, "%s", s);
	return host;
}

static void
split_bad(const char *s, int defport, int minport, const char *want)
{
	char	*host = NULL, err[128] = "";
	int	 port = -1;

	cr_assert_eq(netaddr_split_host_port(s, strlen(s), defport, minport,
	    &host, &port, err, sizeof(err)), -1, "%s parsed", s);
	cr_assert_null(host);
	cr_assert_str_eq(err, want, "%s", s);
}

Test(netaddr, host_port)
{
	char	*h;

	h = split_ok("127.0.0.1:9464", -1, 0, 9464);
	cr_assert_str_eq(h, "127.0.0.1");
	free(h);
	h = split_ok("[::1]:0", -1, 0, 0);
	cr_assert_str_eq(h, "::1");
	free(h);
	h = split_ok("redis.internal", 6379, 1, 6379);
	cr_assert_str_eq(h, "redis.internal");
	free(h);

	split_bad("localhost", -1, 0, "missing :port");
	split_bad("::1:80", -1, 0, "write an IPv6 address in brackets: "
	    "[::1]:port");
	split_bad("[::1:80", -1, 0, "missing ] after an IPv6 address");
	split_bad("[::1]80", -1, 0, "expected :port after ]");
	split_bad(":80", -1, 0, "missing host");
	split_bad("h:0", 80, 1, "invalid port (1 to 65535)");
	split_bad("h:65536", -1, 0, "invalid port (0 to 65535)");
	split_bad("a/b:80", -1, 0, "invalid host");
}

Test(netaddr, redis_url)
{
	struct netaddr_redis	 a;
	char			 err[128] = "";

	cr_assert_eq(netaddr_redis_parse("redis://app%40x:p%3Aw@r1:6380/2",
	    &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(a.host, "r1");
	cr_assert_eq(a.port, 6380);
	cr_assert_str_eq(a.username, "app@x");
	cr_assert_str_eq(a.password, "p:w");
	cr_assert_eq(a.db, 2);
	cr_assert_null(a.unix_path);
	netaddr_redis_clear(&a);
	cr_assert_null(a.host);

	cr_assert_eq(netaddr_redis_parse("unix:///run/redis.sock?db=3", &a,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(a.unix_path, "/run/redis.sock");
	cr_assert_eq(a.port, 0);
	cr_assert_eq(a.db, 3);
	netaddr_redis_clear(&a);

	/* A bad url is refused whole and its password never quoted. */
	cr_assert_eq(netaddr_redis_parse("redis://u:hunter2@r1/x", &a, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "the path must be a database number");
	cr_assert_null(a.host);
	cr_assert_null(a.password);
	cr_assert_eq(netaddr_redis_parse("redis://u:hunter2%zz@r1/0", &a,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "bad %-escape in the user or password");
	cr_assert_eq(netaddr_redis_parse("redi://r1", &a, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "unsupported scheme (use redis://host:port/db "
	    "or unix:///path/redis.sock)");
}

Test(netaddr, webhook_url)
{
	static const struct {
		const char	*url;
		const char	*err;	/* NULL: valid */
	} cases[] = {
		{ "http://10.0.0.1:8080/paced", NULL },
		{ "http://[::1]/hook?token=abc", NULL },
		{ "http://hooks.internal/", NULL },
		{ "https://h/p", NULL },
		{ "https://hooks.example.com:8443/a?b=c", NULL },
		{ "https://u:p@h/p", "user:password@ is not supported (give "
		    "a bearer token with token_file)" },
		{ "ftp://h/p", "unsupported scheme (use https://host[:port]"
		    "/path or http://host[:port]/path)" },
		{ "http://h", "missing /path after the host (e.g. "
		    "http://host:8080/paced)" },
		{ "http://u:tok@h/p", "user:password@ is not supported (give "
		    "a bearer token with token_file)" },
		{ "http://999.1.1.1/p", "invalid IPv4 address" },
		{ "http://[::zz]/p", "invalid IPv6 address" },
		{ "http://h!/p", "invalid host name (A-Z a-z 0-9 . - _; an IPv6 "
		    "address goes in brackets)" },
		{ "http://h/a b", "the path holds a space, a control character "
		    "or a #" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char	 err[160] = "";
		int	 rc = netaddr_webhook_check(cases[i].url, err,
		    sizeof(err));

		if (cases[i].err == NULL)
			cr_expect_eq(rc, 0, "%s: %s", cases[i].url, err);
		else {
			cr_expect_eq(rc, -1, "%s passed", cases[i].url);
			cr_expect_str_eq(err, cases[i].err, "%s", cases[i].url);
		}
	}
}

Test(netaddr, numeric)
{
	cr_assert(netaddr_is_numeric("127.0.0.1"));
	cr_assert(netaddr_is_numeric("::1"));
	cr_assert_not(netaddr_is_numeric("localhost"));
	cr_assert_not(netaddr_is_numeric("[::1]"));
}

Test(netaddr, rediss_url)
{
	struct netaddr_redis	 a;
	char			 err[160] = "";

	cr_assert_eq(netaddr_redis_parse("rediss://u:p%40ss@redis.internal:6380/2",
	    &a, err, sizeof(err)), 0, "%s", err);
	cr_expect(a.tls);
	cr_expect_str_eq(a.host, "redis.internal");
	cr_expect_eq(a.port, 6380);
	cr_expect_eq(a.db, 2);
	cr_expect_str_eq(a.password, "p@ss");
	netaddr_redis_clear(&a);
	cr_assert_eq(netaddr_redis_parse("redis://h/0", &a, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_not(a.tls);
	netaddr_redis_clear(&a);
	cr_assert_eq(netaddr_redis_parse("redisss://h/0", &a, err,
	    sizeof(err)), -1);
}

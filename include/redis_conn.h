#ifndef PACED_REDIS_CONN_H
#define PACED_REDIS_CONN_H

/*
 * One hiredis async connection on the main event base: connect (TCP or
 * unix socket), AUTH and SELECT, SCRIPT LOAD of the scripts callers
 * register, reconnect with capped exponential backoff, and a watchdog that
 * bounds every command (hiredis 0.14 has no async timeouts of its own).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct redis_conn;
struct redis_argv;

/* reply is borrowed and valid only during the call; NULL means the outcome
 * is unknown (connection lost or command timed out). */
typedef void redis_reply_cb(const struct redisReply *reply, void *arg);
/* Called when the connection becomes usable (up) or is lost (!up). */
typedef void redis_state_cb(bool up, void *arg);

struct redis_conn_opts {
	const char *host;	/* or unix_path */
	int port;
	const char *unix_path;
	const char *username;	/* may be NULL */
	const char *password;	/* may be NULL; never logged */
	int db;
	bool tls;		/* rediss://: TLS, certificate and host verified */
	const char *ca_file;	/* for tls; NULL: the system's CA store */
	long timeout_ms;	/* bound of connect and of every command */
	const char *name;	/* for logs and metrics: "main", "http" */
	/* Asks the server's settings that change what counting costs it
	 * (CONFIG GET, at each connect; refused is fine) and logs advice
	 * once: see README, Redis settings. */
	bool check_settings;
};

/* Borrows base and opts' strings (copied). Returns an owned connection
 * (free with redis_conn_free); it starts connecting at once. */
struct redis_conn *redis_conn_new(struct event_base *base,
    const struct redis_conn_opts *opts, redis_state_cb *cb, void *arg);
/* Closes and frees c: pending callbacks get NULL. NULL does nothing. */
void redis_conn_free(struct redis_conn *c);
/* Registers a Lua script (borrowed, must be static) loaded on every
 * connect before the connection is reported up; returns its index. */
int redis_conn_add_script(struct redis_conn *c, const char *lua);
/* The SHA1 of script index i as the server reported it. */
const char *redis_conn_script_sha(const struct redis_conn *c, int i);
/* Sets the bound of connects and commands started from now on (a
 * reload); commands in flight keep theirs. */
void redis_conn_set_timeout(struct redis_conn *c, long timeout_ms);
/* True when connected, authenticated and scripts are loaded. */
bool redis_conn_up(const struct redis_conn *c);
/*
 * Sends a command (argv borrowed and copied; argvlen NULL: the arguments
 * are NUL-terminated strings). cb is always called
 * exactly once unless this returns -1 (not connected), in which case it is
 * never called.
 */
int redis_conn_command(struct redis_conn *c, int argc, const char **argv,
    const size_t *argvlen, redis_reply_cb *cb, void *arg);
/* Sends the command v holds (borrowed; hiredis copies it), as
 * redis_conn_command does. */
int redis_conn_send(struct redis_conn *c, struct redis_argv *v,
    redis_reply_cb *cb, void *arg);
/* Drops the connection (outcome of pending commands unknown) and
 * reconnects after backoff: for callers that see a protocol-level error
 * they cannot recover from on this connection (e.g. NOSCRIPT). */
void redis_conn_reset(struct redis_conn *c, const char *why);

/*
 * A connection whose commands another module routes (Redis Cluster,
 * redis_cluster.c): every call above on it goes to these functions, with
 * the same contract, instead of one hiredis context. rt is the router.
 */
struct redis_conn_router {
	int (*command)(void *rt, int argc, const char **argv,
	    const size_t *argvlen, redis_reply_cb *cb, void *arg);
	int (*add_script)(void *rt, const char *lua);
	const char *(*script_sha)(const void *rt, int i);
	void (*set_timeout)(void *rt, long timeout_ms);
	bool (*up)(const void *rt);
	void (*reset)(void *rt, const char *why);
	void (*free)(void *rt);
};
/* Returns an owned connection (free with redis_conn_free) that hands
 * every call to ops (borrowed, static) on rt (ownership taken: freed by
 * ops->free with the connection). */
struct redis_conn *redis_conn_new_routed(const struct redis_conn_router *ops,
    void *rt);

/*
 * The arguments of one command, built one at a time with no bound on
 * their number or size (a batch's script call has thousands).
 */
/* Returns owned and empty; free with redis_argv_free. */
struct redis_argv *redis_argv_new(void);
/* Frees v. NULL does nothing. */
void redis_argv_free(struct redis_argv *v);
/* Empties v, keeping its memory for the next command. */
void redis_argv_reset(struct redis_argv *v);
/* Appends len bytes of s (borrowed, copied). */
void redis_argv_add(struct redis_argv *v, const char *s, size_t len);
/* Appends the string s (borrowed, copied). */
void redis_argv_str(struct redis_argv *v, const char *s);
/* Appends the string s and frees it: takes ownership of s. */
void redis_argv_take(struct redis_argv *v, char *s);
/* Appends a formatted argument, whatever its length. */
void redis_argv_fmt(struct redis_argv *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n in decimal (as "%" PRId64, without printf's cost). */
void redis_argv_int(struct redis_argv *v, int64_t n);
/* Appends d as "%.17g" writes it; integral values without printf. */
void redis_argv_double(struct redis_argv *v, double d);
/* Room for an argument of at most maxlen bytes, written in place (owned
 * by v, valid until v changes); redis_argv_end(v, len) then appends the
 * len bytes written there. Builds an argument without a copy. */
char *redis_argv_begin(struct redis_argv *v, size_t maxlen);
void redis_argv_end(struct redis_argv *v, size_t len);
/* The number of arguments in v. */
size_t redis_argv_count(const struct redis_argv *v);
/* Argument i of v (borrowed, valid until v changes) and its length. */
const char *redis_argv_at(const struct redis_argv *v, size_t i, size_t *len);

#endif

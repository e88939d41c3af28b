/*
 * config_kafka.c: kafka.security, the settings to reach a Kafka cluster
 * over TLS and/or with a SASL login, checked together and turned into the
 * librdkafka properties that say the same (security.protocol,
 * sasl.mechanism, sasl.username, sasl.password, ssl.ca.location), which
 * every Kafka client of paced gets with kafka.properties. A row of
 * config.c's key table (stage 1, after kafka.properties); messages never
 * quote the password.
 */
#include "config_kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

enum {
	F_PROTOCOL,
	F_MECHANISM,
	F_USERNAME,
	F_PASSWORD_FILE,
	F_CA_FILE,
	F_COUNT
};

static const char *const keys[] = { "protocol", "sasl_mechanism",
    "username", "password_file", "ca_file", NULL };

static const char *const protocols[] = { "plaintext", "ssl",
    "sasl_plaintext", "sasl_ssl", NULL };
static const char *const mechanisms[] = { "PLAIN", "SCRAM-SHA-256",
    "SCRAM-SHA-512", NULL };

/* The librdkafka property each field becomes. */
static const char *const property_of[F_COUNT] = { "security.protocol",
    "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location" };

/* Refuses a field that kafka.properties sets too (by either name). */
static bool
also_a_property(struct loader *l, yaml_node_t *n, const char *fpath,
    const char *prop)
{
	const struct config *c = l->c;

	for (size_t i = 0; i < c->kafka.nproperties; i++) {
		const char *k = c->kafka.properties[i].key;

		if (strcmp(k, prop) == 0 || (strcmp(prop, "sasl.mechanism") ==
		    0 && strcmp(k, "sasl.mechanisms") == 0)) {
			node_error(l, n, fpath, "kafka.properties sets %s too: "
			    "give it in one place", k);
			return true;
		}
	}
	return false;
}

/* Appends key = value (taken) to kafka.properties once librdkafka took
 * it on the loader's throwaway conf. */
static void
add_property(struct loader *l, yaml_node_t *n, const char *fpath,
    const char *key, char *value, bool secret)
{
	struct config *c = l->c;
	char err[512] = "";

	if (rd_kafka_conf_set(l->rk, key, value, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		size_t el = strlen(err);

		while (el > 0 && (err[el - 1] == '\n' || err[el - 1] == ' '))
			err[--el] = '\0';
		node_error(l, n, fpath, "%s", secret ? "librdkafka refused "
		    "the value" : err);
		free(value);
		return;
	}
	c->kafka.properties = xreallocarray(c->kafka.properties,
	    c->kafka.nproperties + 2, sizeof(*c->kafka.properties));
	c->kafka.properties[c->kafka.nproperties].key = xstrdup(key);
	c->kafka.properties[c->kafka.nproperties++].value = value;
	/* Kept NULL-terminated, as load_properties leaves it. */
	memset(&c->kafka.properties[c->kafka.nproperties], 0,
	    sizeof(*c->kafka.properties));
}

void
load_kafka_security(struct loader *l, yaml_node_t *n, const char *path)
{
	yaml_node_t *v[F_COUNT + 1] = { 0 };
	char *fp[F_COUNT], *val[F_COUNT] = { 0 };
	int proto = -1;
	bool sasl, tls;

	if (node_is_null(n) || map_fields(l, n, path, keys, v) != 0)
		return;
	for (int f = 0; f < F_COUNT; f++)
		fp[f] = path_key(path, keys[f]);
	if (v[F_PROTOCOL] != NULL && !node_is_null(v[F_PROTOCOL]) &&
	    (proto = field_enum(l, n, v[F_PROTOCOL], fp[F_PROTOCOL],
	    protocols, false)) >= 0)
		val[F_PROTOCOL] = xstrdup(protocols[proto]);
	if (v[F_MECHANISM] != NULL && !node_is_null(v[F_MECHANISM])) {
		int m = field_enum(l, n, v[F_MECHANISM], fp[F_MECHANISM],
		    mechanisms, false);

		if (m >= 0)
			val[F_MECHANISM] = xstrdup(mechanisms[m]);
	}
	if (v[F_USERNAME] != NULL && !node_is_null(v[F_USERNAME]))
		val[F_USERNAME] = field_string(l, n, v[F_USERNAME],
		    fp[F_USERNAME], false);
	if (v[F_PASSWORD_FILE] != NULL && !node_is_null(v[F_PASSWORD_FILE]))
		val[F_PASSWORD_FILE] = secret_file(l, v[F_PASSWORD_FILE],
		    fp[F_PASSWORD_FILE]);
	if (v[F_CA_FILE] != NULL && !node_is_null(v[F_CA_FILE]))
		val[F_CA_FILE] = pem_file(l, v[F_CA_FILE], fp[F_CA_FILE]);

	sasl = proto == 2 || proto == 3;
	tls = proto == 1 || proto == 3;
	if (v[F_PROTOCOL] == NULL || node_is_null(v[F_PROTOCOL])) {
		for (int f = F_MECHANISM; f < F_COUNT; f++)
			if (v[f] != NULL && !node_is_null(v[f])) {
				node_error(l, v[f], fp[f], "needs %s (ssl, "
				    "sasl_plaintext or sasl_ssl)",
				    fp[F_PROTOCOL]);
				break;
			}
	} else if (proto >= 0 && sasl) {
		static const int need[] = { F_MECHANISM, F_USERNAME,
		    F_PASSWORD_FILE };

		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
			if (v[need[i]] == NULL || node_is_null(v[need[i]]))
				node_error(l, v[F_PROTOCOL], fp[F_PROTOCOL],
				    "%s needs %s", protocols[proto],
				    fp[need[i]]);
	} else if (proto >= 0) {
		for (int f = F_MECHANISM; f <= F_PASSWORD_FILE; f++)
			if (v[f] != NULL && !node_is_null(v[f]))
				node_error(l, v[f], fp[f], "only with protocol "
				    "sasl_plaintext or sasl_ssl (%s is %s)",
				    fp[F_PROTOCOL], protocols[proto]);
	}
	if (proto >= 0 && !tls && v[F_CA_FILE] != NULL &&
	    !node_is_null(v[F_CA_FILE]))
		node_error(l, v[F_CA_FILE], fp[F_CA_FILE], "only with protocol "
		    "ssl or sasl_ssl (%s is %s)", fp[F_PROTOCOL],
		    protocols[proto]);

	for (int f = 0; f < F_COUNT; f++) {
		if (val[f] == NULL)
			continue;
		if (also_a_property(l, v[f], fp[f], property_of[f])) {
			free(val[f]);
			continue;
		}
		add_property(l, v[f], fp[f], property_of[f], val[f],
		    f == F_PASSWORD_FILE);
	}
	for (int f = 0; f < F_COUNT; f++)
		free(fp[f]);
}

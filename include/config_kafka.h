#ifndef PACED_CONFIG_KAFKA_H
#define PACED_CONFIG_KAFKA_H

/*
 * kafka.security: TLS and SASL settings for every Kafka client, checked
 * together and added to kafka.properties as librdkafka properties. A row
 * of config.c's key table; not for callers of config.h.
 */

#include "config_yaml.h"

/* Loads kafka.security from n (borrowed) under path (borrowed) into
 * l->c->kafka.properties; errors go to l. */
void load_kafka_security(struct loader *l, yaml_node_t *n, const char *path);

#endif

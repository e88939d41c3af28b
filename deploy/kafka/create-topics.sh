#!/bin/sh
# Creates the three topics paced uses, with Apache Kafka's kafka-topics.sh.
# Safe to run again: existing topics are left alone (--if-not-exists), so
# to change a setting later use kafka-configs.sh --alter instead.
#
# usage:
#   KAFKA_BROKERS=kafka-1.internal:9093 \
#   KAFKA_CLIENT_CONFIG=/etc/kafka/admin.properties \
#   sh deploy/kafka/create-topics.sh
#
# Environment:
#   KAFKA_BROKERS        bootstrap servers (required)
#   KAFKA_CLIENT_CONFIG  admin client properties (SASL_SSL credentials),
#                        passed as --command-config; optional
#   KAFKA_TOPICS         path of kafka-topics.sh (default: from PATH)
#   ACTIVITY_PARTITIONS  partitions of sales.activity (default 24)
#   REPLICATION          replication factor (default 3)
#   MIN_ISR              min.insync.replicas (default 2)
#   DRY_RUN=1            print the commands instead of running them
set -eu

: "${KAFKA_BROKERS:?set KAFKA_BROKERS to the bootstrap servers}"
KT=${KAFKA_TOPICS:-kafka-topics.sh}
ACTIVITY_PARTITIONS=${ACTIVITY_PARTITIONS:-24}
REPLICATION=${REPLICATION:-3}
MIN_ISR=${MIN_ISR:-2}

DAY_MS=86400000

# create TOPIC PARTITIONS RETENTION_DAYS [--config k=v]...
create() {
	topic=$1 partitions=$2 days=$3
	shift 3
	set -- "$KT" --bootstrap-server "$KAFKA_BROKERS" \
	    ${KAFKA_CLIENT_CONFIG:+--command-config "$KAFKA_CLIENT_CONFIG"} \
	    --create --if-not-exists --topic "$topic" \
	    --partitions "$partitions" --replication-factor "$REPLICATION" \
	    --config "retention.ms=$((days * DAY_MS))" \
	    --config cleanup.policy=delete \
	    --config "min.insync.replicas=$MIN_ISR" \
	    --config unclean.leader.election.enable=false \
	    "$@"
	if [ "${DRY_RUN:-0}" = 1 ]; then
		echo "$@"
	else
		"$@"
	fi
}

# Activity events, key = rep_id. The partition count caps how many paced
# processes share the work (one partition feeds one process), and the
# key-to-partition mapping changes if it grows, so pick it once with room
# to scale. Fourteen days of retention lets paced replay after a long
# outage; keep it at or below redis.dedupe_window (35d), past which paced
# refuses events as too_old rather than risk counting them twice.
# Producers send lz4 batches; compression.type=producer keeps them as sent.
create sales.activity "$ACTIVITY_PARTITIONS" 14 \
    --config compression.type=producer

# Bad events with their original key and bytes plus paced.reason and
# source partition/offset headers. Low volume, read by people days or
# weeks later while they fix a producer: 90 days. Few partitions suffice.
create sales.activity.dlq 6 90 \
    --config compression.type=producer

# Alerts for managers and downstream tools, key = rep_id. Consumers are
# live; 30 days covers a consumer's outage and audits of recent alerts.
create sales.alerts 6 30 \
    --config compression.type=producer

if [ "${DRY_RUN:-0}" != 1 ]; then
	"$KT" --bootstrap-server "$KAFKA_BROKERS" \
	    ${KAFKA_CLIENT_CONFIG:+--command-config "$KAFKA_CLIENT_CONFIG"} \
	    --describe --topic 'sales\..*'
fi

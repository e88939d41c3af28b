/*
 * kafka_stats_partitions: the partitions of one topic in a librdkafka
 * statistics document, with their fetch states (the consumer's partition
 * count and its check for partitions assigned and not fetched).
 */
#include "kafka_loop.h"

#include <criterion/criterion.h>
#include <string.h>

struct seen {
	int n;
	int32_t partition[8];
	char state[8][16];
};

static void
collect(int32_t partition, const char *fetch_state, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, 8);
	s->partition[s->n] = partition;
	snprintf(s->state[s->n], sizeof(s->state[0]), "%s", fetch_state);
	s->n++;
}

/* The shape of librdkafka 2.0's statistics, trimmed. */
static const char doc[] =
    "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"topics\":{"
    "\"sales.activity\":{\"topic\":\"sales.activity\",\"partitions\":{"
    "\"0\":{\"partition\":0,\"fetch_state\":\"active\",\"next_offset\":12},"
    "\"1\":{\"partition\":1,\"fetch_state\":\"none\",\"next_offset\":-1001},"
    "\"2\":{\"partition\":2},"
    "\"-1\":{\"partition\":-1,\"fetch_state\":\"none\"}}},"
    "\"sales.dlq\":{\"partitions\":{\"0\":{\"fetch_state\":\"stopped\"}}}}}";

Test(kafka_stats, walks_one_topics_partitions_with_their_fetch_state)
{
	struct seen s = { 0 };

	cr_assert_eq(kafka_stats_partitions(doc, strlen(doc), "sales.activity",
	    collect, &s), 3);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.partition[0], 0);
	cr_assert_str_eq(s.state[0], "active");
	cr_assert_eq(s.partition[1], 1);
	cr_assert_str_eq(s.state[1], "none");
	/* No fetch state: an empty one, never "active". */
	cr_assert_eq(s.partition[2], 2);
	cr_assert_str_eq(s.state[2], "");
}

Test(kafka_stats, another_topic_or_none_gives_nothing)
{
	struct seen s = { 0 };

	cr_assert_eq(kafka_stats_partitions(doc, strlen(doc), "sales.dlq",
	    collect, &s), 1);
	cr_assert_str_eq(s.state[0], "stopped");
	s.n = 0;
	cr_assert_eq(kafka_stats_partitions(doc, strlen(doc), "no.such.topic",
	    collect, &s), 0);
	cr_assert_eq(s.n, 0);
	/* Counting only. */
	cr_assert_eq(kafka_stats_partitions(doc, strlen(doc), "sales.activity",
	    NULL, NULL), 3);
}

Test(kafka_stats, a_document_that_does_not_parse_is_minus_one)
{
	static const char bad[] = "{\"topics\":{\"sales.activity\":";
	struct seen s = { 0 };

	cr_assert_eq(kafka_stats_partitions(bad, strlen(bad), "sales.activity",
	    collect, &s), -1);
	cr_assert_eq(s.n, 0);
	/* The length bounds the read: the document cut short is bad too. */
	cr_assert_eq(kafka_stats_partitions(doc, 40, "sales.activity", collect,
	    &s), -1);
	cr_assert_eq(s.n, 0);
}

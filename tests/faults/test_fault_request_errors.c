/*
 * Request errors injected into the mock cluster (rd_kafka_mock_push_
 * request_errors) all through a steady stream: offset commits that time
 * out or find no coordinator, fetches answered "not leader" or with the
 * connection dropped, heartbeats that announce a rebalance. Every counter
 * must stay exact. (Produce errors are left out: injected into the mock,
 * they made it acknowledge messages of the idempotent test producer that
 * never reached the topic: 11,998 of 12,000 once.)
 */

#include "faults.h"

#include <criterion/criterion.h>

/* Kafka API keys (the protocol's numbers). */
#define API_FETCH		1
#define API_OFFSET_COMMIT	8
#define API_HEARTBEAT		12

Test(fault, request_errors, .fini = harness_teardown, .timeout = 600)
{
	struct harness_paced p;
	rd_kafka_mock_cluster_t *mc;
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_request_errors", 14,
	    fault_events(12000), FAULT_LOCAL_BROKER), 0);
	/* A coordinator marked dead by an injected error is looked up again
	 * by a request sent through the dead coordinator's handle; with no
	 * answer the group waits (librdkafka 2.0: a rebalance stayed in
	 * wait-coord with two commits pending for the test's whole 60 s
	 * wait) until that request times out: socket.timeout.ms, 60 s by
	 * default, kept here below the test's waits. */
	harness_kafka_property("socket.timeout.ms", "10000");
	mc = harness_mock();
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 15)), -1);
	for (i = 0; i < 6; i++) {
		cr_assert_eq(harness_wait_applied(total * (i + 1) / 8,
		    HARNESS_WAIT_MS), 0);
		rd_kafka_mock_push_request_errors(mc, API_OFFSET_COMMIT, 4,
		    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
		    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
		    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
		    RD_KAFKA_RESP_ERR__TRANSPORT);
		rd_kafka_mock_push_request_errors(mc, API_FETCH, 3,
		    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
		    RD_KAFKA_RESP_ERR__TRANSPORT,
		    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
		if (i % 2 == 0)
			rd_kafka_mock_push_request_errors(mc, API_HEARTBEAT, 1,
			    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
		harness_log("errors injected (round %d) at %lld applied",
		    i + 1, (long long)harness_applied());
	}
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("request_errors", 1, false), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

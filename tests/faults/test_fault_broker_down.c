/*
 * The broker down and back three times during a steady stream
 * (rd_kafka_mock_broker_set_down/up: connections cut, new ones refused),
 * once for longer than the session timeout: the consumer loses its
 * fetches, commits and heartbeats, the producers their acks. The daemon
 * must stay up, resume, and end with every counter exact.
 */

#include "faults.h"

#include <criterion/criterion.h>

Test(fault, broker_down_up, .fini = harness_teardown, .timeout = 600)
{
	static const int down_ms[] = { 3000, 8000, 4000 };
	struct harness_paced p;
	rd_kafka_mock_cluster_t *mc;
	int64_t total;
	pid_t prod;
	int i;

	cr_assert_eq(fault_stack("fault_broker_down", 15, fault_events(12000),
	    FAULT_LOCAL_BROKER), 0);
	mc = harness_mock();
	total = harness_stream_messages();
	cr_assert_eq(fault_paced(&p, 0, true), 0);
	cr_assert_neq(prod = harness_produce_start((int)(total / 20)), -1);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(harness_wait_applied(total * (i + 1) / 5,
		    HARNESS_WAIT_MS), 0);
		harness_log("broker down for %d ms at %lld applied",
		    down_ms[i], (long long)harness_applied());
		cr_assert_eq(rd_kafka_mock_broker_set_down(mc, 1),
		    RD_KAFKA_RESP_ERR_NO_ERROR);
		fault_sleep_ms(down_ms[i]);
		cr_assert_eq(rd_kafka_mock_broker_set_up(mc, 1),
		    RD_KAFKA_RESP_ERR_NO_ERROR);
		cr_assert(harness_alive(p.pid), "paced exited; see %s", p.log);
	}
	cr_assert_eq(fault_finish(prod), 0);
	cr_expect_eq(fault_report("broker_down_up", 1, false), 0);
	cr_expect(harness_alive(p.pid), "paced exited; see %s", p.log);
}

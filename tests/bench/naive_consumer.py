#!/usr/bin/python3
"""The naive reference consumer of the end-to-end bench.

    naive_consumer.py BROKERS TOPIC REDIS_PORT EXPECTED [TIMEOUT_S]

What anyone would write first with Debian's python3-confluent-kafka and
python3-redis: read the topic from its first offset in batches, decode each
event with json.loads and send two HINCRBY per event in one pipeline per
batch:

    HINCRBY naive:{rep:<rep_id>}:<UTC date of occurred_at>   <type> <count>
    HINCRBY naive:{team:<team_id>}:<UTC date of occurred_at> <type> <count>

No dedupe, no time zones, no validation, no offsets kept: the floor of what
a consumer of this stream does with Redis, to judge paced's cost against.
It assigns every partition itself (no group join), times from the first
message to the last acknowledged pipeline, and prints one JSON line:

    {"messages": N, "seconds": S, "per_second": R, "cpu_seconds": C}

(C: this process's CPU time, librdkafka's threads included, same span.)

Exits 1 if EXPECTED messages are not read within TIMEOUT_S (default 300).
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
import redis


def main():
    brokers, topic, port, expected = sys.argv[1:5]
    expected = int(expected)
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 300.0
    c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-naive",
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    parts = [TopicPartition(topic, p, OFFSET_BEGINNING)
             for p in md.topics[topic].partitions]
    c.assign(parts)
    r = redis.Redis(host="127.0.0.1", port=int(port))
    n = 0
    first = None
    start = time.monotonic()
    while n < expected:
        msgs = c.consume(num_messages=5000, timeout=0.1)
        if not msgs:
            if time.monotonic() - start > timeout:
                break
            continue
        if first is None:
            first = time.monotonic()
            cpu0 = time.process_time()
        p = r.pipeline(transaction=False)
        for m in msgs:
            if m.error():
                continue
            ev = json.loads(m.value())
            day = ev["occurred_at"][:10]
            cnt = ev.get("count", 1)
            p.hincrby("naive:{rep:%s}:%s" % (ev["rep_id"], day), ev["type"], cnt)
            p.hincrby("naive:{team:%s}:%s" % (ev["team_id"], day), ev["type"], cnt)
            n += 1
        p.execute()
    last = time.monotonic()
    cpu = time.process_time() - cpu0 if first is not None else 0.0
    c.close()
    secs = last - first if first is not None else 0.0
    print(json.dumps({"messages": n, "seconds": round(secs, 6),
                      "per_second": round(n / secs, 1) if secs > 0 else 0,
                      "cpu_seconds": round(cpu, 6)}))
    return 0 if n == expected else 1


if __name__ == "__main__":
    sys.exit(main())

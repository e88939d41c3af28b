#!/usr/bin/python3
"""The end-to-end bench of `make bench`: paced against its floor and ceiling.

    /usr/bin/python3 tests/bench/e2e.py [BUILD_DIR]        (default: build)

Brings up the embedded stack on this box (paced-devbroker hosting the mock
cluster, redis-server with AOF everysec), pre-produces a realistic stream
and prints one table:

  * throughput of three consumers of the same stream, each verified exact:
    rawcount (librdkafka, counts messages and nothing else: the ceiling),
    naive_consumer.py (Python, 2 pipelined HINCRBY per event, no dedupe:
    what anyone writes first) and paced; and their ratios;
  * per event, for naive and paced: Redis commands (INFO commandstats
    deltas, script-internal commands included, the bench's own INFO calls
    left out), redis-server CPU (INFO cpu used_cpu_sys + used_cpu_user),
    Redis memory (INFO memory used_memory), AOF bytes (the size of the
    files in the server's folder, which holds only the append-only files:
    no RDB snapshots, automatic rewrites off) and the consumer's own
    CPU; for paced these cover the whole window from its first counted
    event to its last, with whatever evaluations ran in it (their number
    is printed), and again up to the moment its last leaderboard values
    are written (they trail the counts by leaderboards.flush_every and
    more under a backlog);
  * produce-to-visible latency of paced at fixed rates (see below), with
    the mean time a batch spent in each stage (paced_batch_stage_seconds);
  * the paced CPU time of one evaluation pass over every rep (the
    evaluate_every timer, with no ingest running, spread over half the
    interval, until its last command is answered), from /proc/PID/stat,
    and the event loop thread's alone;
    the commands paced sent and Redis ran per rep; the reps judged from
    the evaluator's copy and read from Redis; the loop's stalls;
  * paced's VmRSS (/proc/PID/status) after loading rosters of two sizes,
    per rep, and per rep between them.

Each run starts its own redis-server (fresh, on a free port), so each
consumer's Redis figures are its own. Every process runs on this one box,
the mock broker included: the figures are for comparing runs on one
machine, not absolute.

The stream: EVENTS events over REPS reps in TEAMS teams (ten time zones),
keyed by rep_id, 32 partitions, lz4 (the mock broker keeps about 5 MiB per
partition; the produced count is checked against the partitions'
watermarks). Types follow a sales funnel (calls and emails dominate, one
deal in about 250 events, with an amount); a tenth of calls and emails
carry a count of 2..5; occurred_at is uniform over the last 3 days, in UTC.
No duplicates and no bad events, so all three consumers must end with the
counts computed here: rawcount the message count; naive every rep and team
hash (per UTC day and type); paced every rep's day and week counter hash
(per KPI, in the team's zone, computed with zoneinfo), and no other day
counter key.

Produce-to-visible: with paced caught up, keyspace notifications are turned
on (notify-keyspace-events Kh) and a subscriber process (psubscribe on the
rep day counter keys) notes when each key is first written. Events go out
at a fixed rate for a fixed time, each with its produce time (produced_at,
an unknown field paced ignores), and each to a (rep, day) pair no other
event of the run uses, so the first write of that key is the moment the
event became visible. Latency = that moment - produced_at; p50, p99, max
and how many never became visible within the wait. The producer sends a
message to every partition of a topic nobody reads (bench.warmup) and
waits for it before the clock starts: a new producer's first messages
wait for its metadata and broker connections, which is not paced's time.
It lingers 20 ms (LATENCY_LINGER_MS, part of the latency measured) and
paced's consumer gets fetch.wait.max.ms 5 (MOCK_KAFKA_PROPERTIES): two
ways in which the mock broker differs from Kafka (one producer batch per
partition and fetch; an empty fetch held its whole wait) that would
otherwise be counted as paced's. The table adds the mean and quantiles of
paced_kafka_read_delay_seconds (produce to read by paced) per rate.

Environment (defaults: the size of the performance issue):
  BENCH_EVENTS=1000000   BENCH_REPS=100000   BENCH_TEAMS=50
  BENCH_PARTITIONS=32    BENCH_RATES=2000,10000   BENCH_RATE_SECONDS=20
  BENCH_RSS_REPS=100000,1000000   BENCH_SEED=1   BENCH_EVAL_EVERY=1m
  BENCH_KAFKA_PROPERTIES=  k=v,k=v added to paced's kafka.properties
                         (which hold fetch.wait.max.ms=5 first: the mock
                         broker holds a fetch that found nothing for its
                         whole wait, see MOCK_KAFKA_PROPERTIES)
  BENCH_PACED_YAML=      YAML added to paced's config (a setting to
                         measure: 'batch: {max_wait: 5ms}')
  BENCH_REDIS_ARGS=--hash-max-listpack-entries 128
                         settings added to every redis-server's command
                         line (space-separated); the default is what
                         deploy/redis/redis.conf sets (Redis's own
                         default is 512: see README, Redis settings)
  BENCH_SKIP=            comma-separated: raw, naive, plain (paced with
                         the analytics outputs off), paced, latency,
                         eval, rss (what not to run)
A quick run while developing: BENCH_EVENTS=100000 BENCH_REPS=10000
BENCH_RSS_REPS=10000,100000.

Exits 0 when every consumer was exact, 1 otherwise; the run folder
(BUILD_DIR/bench-e2e) keeps configs, logs and the table (table.txt).
"""
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zoneinfo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

TOPIC = "bench.activity"
IDLE_TOPIC = "bench.idle"
WARMUP_TOPIC = "bench.warmup"   # nobody consumes it
PREFIX = "bench"
SHARDS = 32         # redis.shards, the default
REDIS_ARGS = os.environ.get(
    "BENCH_REDIS_ARGS", "--hash-max-listpack-entries 128").split()

ZONES = ["America/New_York", "America/Chicago", "America/Denver",
         "America/Los_Angeles", "America/Sao_Paulo", "Europe/London",
         "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"]

# type, weight, KPIs it feeds (count), plus revenue (amount) for deals
FUNNEL = [("call", 54.0), ("email", 30.0), ("conversation", 9.0),
          ("meeting_scheduled", 1.8), ("meeting_held", 1.5),
          ("roi_discussion", 1.0), ("proposal_sent", 0.8),
          ("sales_accepted_opportunity", 0.5), ("deal_closed", 0.4)]
KPI_OF = {"call": ["calls"], "email": ["calls"],
          "conversation": ["conversations"],
          "roi_discussion": ["conversations"],
          "meeting_scheduled": ["meetings_scheduled"],
          "meeting_held": ["meetings_held"],
          "proposal_sent": ["proposals_sent"],
          "sales_accepted_opportunity": ["sales_accepted_opportunities"],
          "deal_closed": ["deals_closed"]}

ORG_YAML = """
kpis:
  - {name: calls, kind: leading, events: [call, email]}
  - {name: conversations, kind: leading, events: [conversation, roi_discussion]}
  - {name: meetings_scheduled, kind: leading, events: [meeting_scheduled]}
  - {name: meetings_held, kind: leading, events: [meeting_held]}
  - {name: proposals_sent, kind: leading, events: [proposal_sent]}
  - {name: sales_accepted_opportunities, kind: lagging, events: [sales_accepted_opportunity]}
  - {name: deals_closed, kind: lagging, events: [deal_closed]}
  - {name: revenue, kind: lagging, events: [deal_closed], measure: amount}
calendars:
  default:
    working_days: [mon, tue, wed, thu, fri]
    working_hours: "09:00-17:00"
    week_start: mon
    fiscal_year_start: jan
roles:
  sdr:
    targets:
      calls: {day: 60, week: 300, month: 1200, quarter: 3600}
      conversations: {day: 10, week: 50, month: 200, quarter: 600}
      meetings_scheduled: {day: 2, week: 10, month: 40, quarter: 120}
      sales_accepted_opportunities: {week: 3, month: 12, quarter: 36}
  ae:
    targets:
      calls: {day: 20, week: 100, month: 400}
      meetings_held: {day: 2, week: 10, month: 40, quarter: 120}
      proposals_sent: {week: 3, month: 12, quarter: 36}
      deals_closed: {month: 3, quarter: 9}
      revenue: {month: 105000, quarter: 315000}
"""


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default):
    return [int(x) for x in os.environ.get(name, default).split(",") if x]


def say(msg):
    print("bench-e2e: " + msg, flush=True)


def fail(msg):
    say("FAILED: " + msg)
    raise SystemExit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, seconds, what, proc=None, log=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            tail = open(log).read()[-3000:] if log else ""
            fail("%s: the process exited (%s)\n%s" % (what, proc.returncode, tail))
        time.sleep(0.05)
    fail("%s: not within %d s" % (what, seconds))


class Procs:
    """The processes this bench started; stopped in reverse order."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log, **kw):
        f = open(log, "ab")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, **kw)
        f.close()
        self.procs.append(p)
        return p

    def stop(self, p, seconds=30):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(seconds)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p, 10)


# ---- the machine and /proc ----

def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    except OSError:
        pass
    return "%d cores (nproc), %s, %s RAM, Linux %s" % (
        os.cpu_count(), model, mem, platform.release())


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime + stime of a process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu(pid):
    """utime + stime of a process's main thread (paced's event loop,
    where every evaluation runs; librdkafka's threads are others)."""
    with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


# ---- Redis ----

class Redis:
    def __init__(self, procs, rundir, name):
        import redis
        self.dir = os.path.join(rundir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.port = free_port()
        self.log = os.path.join(rundir, name + ".log")
        self.proc = procs.start(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--appendonly", "yes",
             "--appendfsync", "everysec", "--save", "",
             "--auto-aof-rewrite-percentage", "0", "--daemonize", "no"]
            + REDIS_ARGS, self.log)
        self.r = redis.Redis(host="127.0.0.1", port=self.port,
                             decode_responses=True)

        def up():
            try:
                return self.r.ping()
            except Exception:
                return False
        wait_until(up, 20, "redis-server", self.proc, self.log)
        self.procs = procs

    def aof_bytes(self):
        n = 0
        for dirpath, _, files in os.walk(self.dir):
            for f in files:
                n += os.path.getsize(os.path.join(dirpath, f))
        return n

    def snapshot(self):
        cs = self.r.info("commandstats")
        calls = sum(v["calls"] for k, v in cs.items()
                    if k != "cmdstat_info")
        cpu = self.r.info("cpu")
        mem = self.r.info("memory")
        return {"calls": calls,
                "by_cmd": {k[len("cmdstat_"):]: v["calls"] for k, v in cs.items()
                           if k != "cmdstat_info"},
                "usec": {k[len("cmdstat_"):]: v["usec"] for k, v in cs.items()
                         if k != "cmdstat_info"},
                "cpu": cpu["used_cpu_sys"] + cpu["used_cpu_user"],
                "mem": mem["used_memory"], "aof": self.aof_bytes()}

    def stop(self):
        self.procs.stop(self.proc)


def per_event(a, b, n):
    by = {k: (v - a["by_cmd"].get(k, 0)) / n for k, v in b["by_cmd"].items()}
    us = {k: (v - a["usec"].get(k, 0)) / n for k, v in b["usec"].items()}
    return {"commands": (b["calls"] - a["calls"]) / n,
            "by_usec": sorted(((v, k) for k, v in us.items() if v > 0),
                              reverse=True),
            "by_cmd": sorted(((v, k) for k, v in by.items() if v > 0),
                             reverse=True),
            "cpu_us": (b["cpu"] - a["cpu"]) * 1e6 / n,
            "mem": (b["mem"] - a["mem"]) / n,
            "aof": (b["aof"] - a["aof"]) / n}


# ---- the org and the stream ----

class Org:
    def __init__(self, nreps, nteams):
        self.teams = ["t%02d" % i for i in range(1, nteams + 1)]
        self.zone = {t: zoneinfo.ZoneInfo(ZONES[i % len(ZONES)])
                     for i, t in enumerate(self.teams)}
        self.reps = ["rep%07d" % i for i in range(nreps)]

    def team_of(self, i):
        return self.teams[i % len(self.teams)]

    def teams_yaml(self):
        out = ["teams:"]
        for i, t in enumerate(self.teams):
            out.append("  - {id: %s, timezone: %s, manager: m-%s}"
                       % (t, ZONES[i % len(ZONES)], t))
        return "\n".join(out) + "\n"

    def write_roster(self, path, nreps):
        with open(path, "w") as f:
            f.write("rep_id,team,role,manager\n")
            for i in range(nreps):
                t = self.team_of(i)
                f.write("rep%07d,%s,%s,m-%s\n"
                        % (i, t, "ae" if i % 4 == 3 else "sdr", t))


# The mock broker answers a fetch that found no data only when the
# fetch's wait (fetch.wait.max.ms) is over, even if data arrives meanwhile;
# a Kafka broker answers as soon as fetch.min.bytes (1) are there. With
# paced's 100 ms, the mock alone would add up to 100 ms to an event's
# latency (measured: paced_kafka_read_delay_seconds mean 58 ms at
# 2,000/s, 10 ms with this), which no real broker adds.
MOCK_KAFKA_PROPERTIES = {"fetch.wait.max.ms": "5"}
LATENCY_LINGER_MS = 20      # see latency_run


def kafka_properties():
    """MOCK_KAFKA_PROPERTIES, then BENCH_KAFKA_PROPERTIES (k=v,k=v):
    paced's kafka.properties; the second to measure a client setting."""
    props = dict(MOCK_KAFKA_PROPERTIES)
    for kv in os.environ.get("BENCH_KAFKA_PROPERTIES", "").split(","):
        if "=" in kv:
            k, v = kv.split("=", 1)
            props[k.strip()] = v.strip()
    return "".join("    %s: %s\n" % (k, json.dumps(v))
                   for k, v in props.items())


def paced_yaml():
    """BENCH_PACED_YAML: added to paced's config, to measure a setting."""
    y = os.environ.get("BENCH_PACED_YAML", "")
    return y + "\n" if y and not y.endswith("\n") else y


def write_config(path, org, roster, brokers, redis_port, http_port, topic,
                 group, clock="wall", every="1m", extra=""):
    with open(path, "w") as f:
        f.write("""kafka:
  brokers: "%s"
  group_id: %s
  topics: {activity: %s}
  properties:
    session.timeout.ms: 6000
%sredis:
  url: "redis://127.0.0.1:%d/0"
  key_prefix: %s
http:
  listen: "127.0.0.1:%d"
log:
  level: info
clock: %s
unknown_rep: skip
%s%sroster_file: %s
alerts:
  periods: [day, week]
  evaluate_every: %s
%s%s""" % (brokers, group, topic, kafka_properties(), redis_port, PREFIX,
            http_port, clock, ORG_YAML, org.teams_yaml(), os.path.basename(roster), every,
            extra, paced_yaml()))


def producer(brokers, linger_ms):
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": brokers,
                     "compression.type": "lz4",
                     "linger.ms": linger_ms,
                     "batch.num.messages": 10000,
                     "queue.buffering.max.messages": 1000000,
                     "queue.buffering.max.kbytes": 1048576,
                     "partitioner": "murmur2_random"})


class Expect:
    """Counts a correct consumer must end with."""

    def __init__(self):
        self.paced = {}         # (rep, period, local date) -> {kpi: n}
        self.naive = {}         # naive key -> {type: n}
        self.events = 0

    def add(self, org, rep_i, typ, ms, count, amount):
        rep = org.reps[rep_i]
        team = org.team_of(rep_i)
        utc = utc_of(ms)
        day = utc.strftime("%Y-%m-%d")
        for k in ("naive:{rep:%s}:%s" % (rep, day),
                  "naive:{team:%s}:%s" % (team, day)):
            h = self.naive.setdefault(k, {})
            h[typ] = h.get(typ, 0) + count
        local = utc.astimezone(org.zone[team]).date()
        week = local - datetime.timedelta(days=local.weekday())
        for key in ((rep, "day", local.isoformat()),
                    (rep, "week", week.isoformat())):
            h = self.paced.setdefault(key, {})
            for kpi in KPI_OF[typ]:
                h[kpi] = h.get(kpi, 0) + count
            if amount is not None:
                h["revenue"] = h.get("revenue", 0) + amount
        self.events += 1


def utc_of(ms):
    """An instant in milliseconds since the epoch as a UTC datetime."""
    return (datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
            + datetime.timedelta(milliseconds=ms % 1000))


def make_event(rnd, org, rep_i, typ, ms, count, amount, extra=""):
    eid = "%08x-%04x-4%03x-%04x-%012x" % (
        rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(12),
        0x8000 | rnd.getrandbits(14), rnd.getrandbits(48))
    when = utc_of(ms)
    occurred = when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)
    rep = org.reps[rep_i]
    team = org.team_of(rep_i)
    v = ('{"event_id":"%s","rep_id":"%s","type":"%s","occurred_at":"%s",'
         '"team_id":"%s","manager_id":"m-%s","source":"crm"'
         % (eid, rep, typ, occurred, team, team))
    if count != 1:
        v += ',"count":%d' % count
    if amount is not None:
        v += ',"amount":%d' % amount
    return (v + extra + "}").encode(), rep.encode()


def preproduce(brokers, org, nevents, seed, exp):
    rnd = random.Random(seed)
    types = [t for t, _ in FUNNEL]
    weights = [w for _, w in FUNNEL]
    now_ms = int(time.time() * 1000) - 120000
    span_ms = 3 * 86400 * 1000
    p = producer(brokers, 50)
    errors = [0]
    nbytes = 0

    def dr(err, msg):
        if err is not None:
            errors[0] += 1
    nreps = len(org.reps)
    chunk = 10000
    done = 0
    while done < nevents:
        n = min(chunk, nevents - done)
        tys = rnd.choices(types, weights, k=n)
        for typ in tys:
            rep_i = rnd.randrange(nreps)
            ms = now_ms - rnd.randrange(span_ms)
            count = rnd.randint(2, 5) if typ in ("call", "email") and rnd.random() < 0.1 else 1
            amount = rnd.randrange(5000, 100001, 500) if typ == "deal_closed" else None
            value, key = make_event(rnd, org, rep_i, typ, ms, count, amount)
            nbytes += len(value)
            exp.add(org, rep_i, typ, ms, count, amount)
            while True:
                try:
                    p.produce(TOPIC, value, key, on_delivery=dr)
                    break
                except BufferError:
                    p.poll(0.05)
        p.poll(0)
        done += n
    left = p.flush(120)
    if left or errors[0]:
        fail("produce: %d undelivered, %d delivery errors" % (left, errors[0]))
    return nbytes


def broker_count(brokers, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": brokers, "group.id": "bench-count"})
    md = c.list_topics(topic, timeout=10)
    total = 0
    for pid in md.topics[topic].partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, pid), timeout=10)
        total += hi - lo
    c.close()
    return total


# ---- paced ----

class Paced:
    def __init__(self, procs, build, cfg, log, http_port):
        self.procs = procs
        self.http = "http://127.0.0.1:%d" % http_port
        self.log = log
        self.proc = procs.start([os.path.join(build, "paced"), "--config", cfg],
                                log, cwd=os.path.dirname(cfg))
        self.pid = self.proc.pid

    def get(self, path):
        try:
            with urllib.request.urlopen(self.http + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except OSError:
            return 0, ""

    def metrics(self):
        code, text = self.get("/metrics")
        m = {}
        if code != 200:
            return m
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            name, _, val = line.rpartition(" ")
            try:
                m[name] = float(val)
            except ValueError:
                pass
        return m

    def ready(self):
        return self.get("/readyz")[0] == 200

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.procs.stop(self.proc, 30)


def outcome(m, o):
    return int(m.get('paced_events_total{outcome="%s"}' % o, 0))


def consumed(m):
    """Events paced is done with, whatever the outcome (a producer retry
    may deliver a message twice: a duplicate)."""
    return sum(outcome(m, o) for o in ("counted", "duplicate", "bad", "skipped"))


def evaluations(m):
    return int(m.get('paced_evaluations_total{result="ok"}', 0) +
               m.get('paced_evaluations_total{result="failed"}', 0))


def wait_boards(paced, seconds=300):
    """Until paced holds no leaderboard value unwritten; the wait, s."""
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        if paced.metrics().get("paced_board_values_pending", 0) == 0:
            break
        time.sleep(0.1)
    else:
        fail("leaderboard values still pending after %d s" % seconds)
    return time.monotonic() - t


def count_all(paced, rds, nevents):
    """Polls paced until it has consumed nevents; the window from its
    first counted event to the last: times, CPU, counts, Redis snapshot."""
    t0 = c0 = cpu0 = None
    e0 = 0
    deadline = time.monotonic() + 3600
    while True:
        if not paced.alive():
            fail("paced exited:\n" + open(paced.log).read()[-3000:])
        if time.monotonic() > deadline:
            fail("paced did not count every event in an hour")
        cpu = proc_cpu(paced.pid)
        m = paced.metrics()
        now = time.monotonic()
        c = outcome(m, "counted")
        other = sum(outcome(m, o) for o in ("duplicate", "bad", "skipped"))
        if t0 is None and c > 0:
            t0, c0, cpu0, e0 = now, c, cpu, evaluations(m)
        if c + other >= nevents:
            s1 = rds.snapshot()
            # Leaderboard values trail the counters; the Redis figures
            # above leave out those still waiting (the evaluations of the
            # changed reps run meanwhile, and would be counted too).
            pending = m.get("paced_board_values_pending", 0)
            waited = wait_boards(paced)
            s2 = rds.snapshot()
            say("leaderboard values waiting at the last count: %d, written "
                "%.1f s later" % (pending, waited))
            return {"t0": t0, "t1": now, "c0": c0, "c": c, "other": other,
                    "cpu0": cpu0, "cpu1": cpu, "e0": e0,
                    "e1": evaluations(m), "s1": s1, "s2": s2,
                    "boards_s": waited,
                    "e2": evaluations(paced.metrics())}
        time.sleep(0.1)


def wait_quiet_evaluator(paced, seconds=120):
    """Until no evaluation has run for a second."""
    end = time.monotonic() + seconds
    last = evaluations(paced.metrics())
    still = 0.0
    while time.monotonic() < end and still < 1.0:
        time.sleep(0.2)
        n = evaluations(paced.metrics())
        still = still + 0.2 if n == last else 0.0
        last = n


def shard_of(rep):
    """The rep's counter shard: FNV-1a 64 of its id modulo redis.shards
    (README, Redis keys)."""
    h = 0xcbf29ce484222325
    for b in rep.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % SHARDS


def counter_key(rep, period, date):
    return "%s:{s:%d}:cnt:%s:%s" % (PREFIX, shard_of(rep), period, date)


def verify_paced(rds, exp):
    r = rds.r
    keys = list(exp.paced.items())
    bad = 0
    for i in range(0, len(keys), 5000):
        p = r.pipeline(transaction=False)
        part = keys[i:i + 5000]
        for (rep, period, date), want in part:
            p.hmget(counter_key(rep, period, date),
                    ["%s|%s" % (rep, k) for k in sorted(want)])
        for ((rep, period, date), want), got in zip(part, p.execute()):
            gotn = {k: float(v) for k, v in zip(sorted(want), got)
                    if v is not None}
            if gotn != {k: float(v) for k, v in want.items()}:
                if bad < 5:
                    say("paced mismatch %s %s %s: want %s got %s"
                        % (rep, period, date, want, got))
                bad += 1
    nfields = sum(len(v) for k, v in exp.paced.items() if k[1] == "day")
    found = 0
    for k in r.scan_iter(match="%s:{s:*}:cnt:day:*" % PREFIX, count=10000):
        found += r.hlen(k)
    if found != nfields:
        say("paced: %d rep day counter fields, %d expected"
            % (found, nfields))
        bad += 1
    return bad == 0, len(keys)


def verify_naive(rds, exp):
    r = rds.r
    keys = list(exp.naive.items())
    bad = 0
    for i in range(0, len(keys), 5000):
        p = r.pipeline(transaction=False)
        part = keys[i:i + 5000]
        for k, _ in part:
            p.hgetall(k)
        for (k, want), got in zip(part, p.execute()):
            if {f: int(v) for f, v in got.items()} != want:
                if bad < 5:
                    say("naive mismatch %s: want %s got %s" % (k, want, got))
                bad += 1
    if r.dbsize() != len(keys):
        say("naive: %d keys, %d expected" % (r.dbsize(), len(keys)))
        bad += 1
    return bad == 0, len(keys)


# ---- produce-to-visible ----

def subscribe_main(port, pattern, out, stop, plan, rate):
    """The subscriber process: when each planned (key, field) was first
    seen. Keyspace notifications name the shard hash a batch wrote; each
    one is followed by an HMGET of that hash's fields awaited: those of
    the events produced by now (event i is produced at start + i / rate,
    start being written to out.start when the clock starts), not yet
    seen. Asking only for these keeps the subscriber's own work per
    notification small and even over the run: asking for every field of
    the run still unseen made its first seconds slow (an HMGET of
    thousands of fields per notification), which it then counted as
    paced's latency."""
    import redis
    r = redis.Redis(host="127.0.0.1", port=int(port))
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.psubscribe(pattern)
    order = json.load(open(plan))
    rate = float(rate)
    awaited = {}
    due = 0             # order[:due] are awaited or seen
    start = None
    first = {}
    print("ready", flush=True)
    pre = len("__keyspace@0__:")
    while not os.path.exists(stop):
        m = ps.get_message(timeout=0.2)
        touched = set()
        while m is not None:
            if m["type"] == "pmessage":
                touched.add(m["channel"][pre:].decode())
            m = ps.get_message(timeout=0)
        if start is None:
            try:
                start = float(open(out + ".start").read())
            except (OSError, ValueError):
                continue
        # An event is produced at its due time or later, so one written
        # is always awaited by the time its notification is read.
        upto = min(len(order), int((time.time() + 0.05 - start) * rate) + 1)
        while due < upto:
            key, field = order[due]
            awaited.setdefault(key, set()).add(field)
            due += 1
        for k in touched:
            fields = list(awaited.get(k, ()))
            if not fields:
                continue
            t = time.time()
            for f, v in zip(fields, r.hmget(k, fields)):
                if v is not None:
                    first[k + " " + f] = t
                    awaited[k].discard(f)
    with open(out + ".tmp", "w") as f:
        json.dump(first, f)
    os.rename(out + ".tmp", out)


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


STAGES = ("filling", "counters", "counted", "wait_dlq", "watermark")


def stage_totals(m):
    """paced_batch_stage_seconds: (count, sum) per stage."""
    return {s: (m.get('paced_batch_stage_seconds_count{stage="%s"}' % s, 0),
                m.get('paced_batch_stage_seconds_sum{stage="%s"}' % s, 0))
            for s in STAGES}


READ_DELAY = "paced_kafka_read_delay_seconds"


def hist_quantile(m0, m1, name, q):
    """The upper bound of the bucket holding quantile q of the
    observations of histogram `name` between two metric readings."""
    les = []
    for k in m1:
        if k.startswith(name + '_bucket{le="'):
            le = k[len(name) + len('_bucket{le="'):-2]
            les.append((float("inf") if le == "+Inf" else float(le),
                        m1[k] - m0.get(k, 0)))
    les.sort()
    if not les or les[-1][1] <= 0:
        return float("nan")
    for le, n in les:
        if n >= q * les[-1][1]:
            return le
    return float("inf")


def latency_run(brokers, org, rds, paced, rundir, rate, secs, day0, seed):
    """Events at `rate` for `secs`; returns the figures and the next free
    day offset."""
    nreps = len(org.reps)
    total = int(rate * secs)
    ndays = (total + nreps - 1) // nreps
    if day0 + ndays > 32:
        fail("latency at %d/s for %d s needs %d days a rep over %d reps: too "
             "many for the dedupe window; lower the rate or raise BENCH_REPS"
             % (rate, secs, ndays, nreps))
    out = os.path.join(rundir, "visible-%d.json" % rate)
    stop = out + ".stop"
    for f in (out, stop, out + ".start"):
        if os.path.exists(f):
            os.unlink(f)
    rnd = random.Random(seed)
    order = list(range(nreps))
    rnd.shuffle(order)
    today = datetime.date.today()
    plan = []
    for i in range(total):
        rep_i = order[i % nreps]
        team = org.team_of(rep_i)
        d = today - datetime.timedelta(days=day0 + i // nreps)
        noon = datetime.datetime(d.year, d.month, d.day, 12, tzinfo=org.zone[team])
        rep = org.reps[rep_i]
        key = (counter_key(rep, "day", d.isoformat()), rep + "|calls")
        # Formatted now, not in the timed loop (the producer's own CPU,
        # which shares the box with paced): only the produce time, and
        # the closing brace after it, are added when it is sent.
        value, k = make_event(rnd, org, rep_i, "call",
                              int(noon.timestamp()) * 1000, 1, None)
        plan.append((value[:-1], k, key))
    with open(out + ".plan", "w") as f:
        json.dump([k for _, _, k in plan], f)
    sub = subprocess.Popen(
        [PY, os.path.abspath(__file__), "--subscribe", str(rds.port),
         "__keyspace@0__:%s:{s:*}:cnt:day:*" % PREFIX, out, stop,
         out + ".plan", str(rate)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if sub.stdout.readline().strip() != b"ready":
        fail("the keyspace subscriber did not start")
    # 20 ms, not librdkafka's 5 (and counted in the latency): the mock
    # broker hands out one producer batch per partition and fetch, so at
    # 10,000/s over 32 partitions 5 ms batches (1.6 messages) made its
    # fetches, not paced, the limit (paced_kafka_read_delay_seconds mean
    # 5 s; 26 ms with 20 ms batches). A Kafka broker returns every batch.
    p = producer(brokers, LATENCY_LINGER_MS)
    # A new producer's first messages wait for its metadata and broker
    # connections (about a second here): a message to every partition of
    # a topic nobody reads, flushed before the clock starts, so that this
    # wait is not counted as paced's.
    p.list_topics(TOPIC, timeout=10)
    md = p.list_topics(WARMUP_TOPIC, timeout=10)
    for part in md.topics[WARMUP_TOPIC].partitions:
        p.produce(WARMUP_TOPIC, b"warmup", partition=part)
    if p.flush(30):
        fail("latency: the producer's warm-up messages were not delivered")
    m0 = paced.metrics()
    before = consumed(m0)
    stages0 = stage_totals(m0)
    r0, cpu0 = rds.snapshot(), proc_cpu(paced.pid)
    produced = {}
    start = time.time()
    with open(out + ".start.tmp", "w") as f:
        f.write("%.6f" % start)
    os.rename(out + ".start.tmp", out + ".start")
    for i, (head, k, key) in enumerate(plan):
        due = start + i / rate
        now = time.time()
        if due > now + 0.001:
            time.sleep(due - now)
        now = time.time()
        value = head + (',"produced_at":%.6f}' % now).encode()
        while True:
            try:
                p.produce(TOPIC, value, k)
                break
            except BufferError:
                p.poll(0.01)
        produced[key[0] + " " + key[1]] = now
        if i % 100 == 0:
            p.poll(0)
    spent = time.time() - start
    if p.flush(60):
        fail("latency produce: undelivered messages")
    target = before + total
    end = time.monotonic() + 300
    while consumed(paced.metrics()) < target:
        if time.monotonic() > end:
            fail("latency at %d/s: paced had not consumed every event 300 s "
                 "after the last was produced" % rate)
        time.sleep(0.1)
    caught = time.time() - (start + spent)
    m1 = paced.metrics()
    r1, cpu1 = rds.snapshot(), proc_cpu(paced.pid)
    stages1 = stage_totals(m1)
    stage_ms = {}
    for st in STAGES:
        n = stages1[st][0] - stages0[st][0]
        stage_ms[st] = ((stages1[st][1] - stages0[st][1]) * 1000 / n
                        if n > 0 else float("nan"))
    batches = stages1["counters"][0] - stages0["counters"][0]
    n = m1.get(READ_DELAY + "_count", 0) - m0.get(READ_DELAY + "_count", 0)
    read = {"mean": ((m1.get(READ_DELAY + "_sum", 0) -
                      m0.get(READ_DELAY + "_sum", 0)) / n
                     if n > 0 else float("nan")),
            "p50": hist_quantile(m0, m1, READ_DELAY, 0.50),
            "p99": hist_quantile(m0, m1, READ_DELAY, 0.99)}
    time.sleep(1.0)
    open(stop, "w").close()
    sub.wait(60)
    seen = json.load(open(out))
    lat = sorted(seen[k] - t for k, t in produced.items() if k in seen)
    return {"rate": rate, "secs": secs, "produced": total,
            "achieved": total / spent if spent > 0 else 0, "caught_up": caught,
            "visible": len(lat), "p50": pct(lat, 0.50), "p99": pct(lat, 0.99),
            "max": lat[-1] if lat else float("nan"),
            "batches": batches, "stage_ms": stage_ms, "read": read,
            "evaluations": evaluations(m1) - evaluations(m0),
            "redis_us": (r1["cpu"] - r0["cpu"]) * 1e6 / total,
            "paced_us": (cpu1 - cpu0) * 1e6 / total,
            "usec": {k: (v - r0["usec"].get(k, 0)) / total
                     for k, v in r1["usec"].items()
                     if v > r0["usec"].get(k, 0)}}, \
        day0 + ndays


# ---- evaluation pass ----

def eval_pass(paced, every_s):
    wait_quiet_evaluator(paced)
    passes = 'paced_evaluation_passes_total'
    now = time.time()
    nxt = (int(now // every_s) + 1) * every_s
    if nxt - now < 2:
        nxt += every_s
    time.sleep(max(0, nxt - now - 0.5))
    cpu0, loop0 = proc_cpu(paced.pid), thread_cpu(paced.pid)
    m0 = paced.metrics()
    e0 = evaluations(m0)
    t0 = nxt
    # The pass is spread over half the interval (README, What is
    # evaluated): it has queued every rep once the passes counter moves;
    # paced_owned_reps is set then, and its evaluations are done once
    # that many ran.
    deadline = time.monotonic() + 600
    owned = 0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        m = paced.metrics()
        e = evaluations(m)
        if m.get(passes, 0) > m0.get(passes, 0):
            owned = int(m.get("paced_owned_reps", 0))
            if e - e0 >= owned > 0:
                break
    t1 = time.time()
    # The pass's last commands are answered (and their replies handled,
    # which is part of its CPU) before the figures are read.
    sent = 'paced_redis_latency_seconds_count{conn="main"}'
    last = -1
    settle = time.monotonic() + 10
    while time.monotonic() < settle:
        n = paced.metrics().get(sent, 0)
        if n == last:
            break
        last = n
        time.sleep(0.2)
    cpu1, loop1 = proc_cpu(paced.pid), thread_cpu(paced.pid)
    m1 = paced.metrics()
    reads = 'paced_evaluation_reads_total{from="%s"}'
    return {"owned": owned, "evaluations": e - e0, "cpu": cpu1 - cpu0,
            "loop_cpu": loop1 - loop0, "wall": t1 - t0,
            "sent": m1.get(sent, 0) - m0.get(sent, 0),
            "from_cache": m1.get(reads % "cache", 0) - m0.get(reads % "cache", 0),
            "from_redis": m1.get(reads % "redis", 0) - m0.get(reads % "redis", 0),
            "stalls": m1.get("paced_loop_stalls_total", 0) - m0.get("paced_loop_stalls_total", 0)}


# ---- RSS ----

def rss_run(procs, build, rundir, org, brokers, rds, nreps):
    d = os.path.join(rundir, "rss-%d" % nreps)
    os.makedirs(d, exist_ok=True)
    roster = os.path.join(d, "roster.csv")
    org.write_roster(roster, nreps)
    cfg = os.path.join(d, "paced.yaml")
    port = free_port()
    write_config(cfg, org, roster, brokers, rds.port, port, IDLE_TOPIC,
                 "bench-rss-%d" % nreps, clock="event")
    t0 = time.monotonic()
    paced = Paced(procs, build, cfg, os.path.join(d, "paced.log"), port)
    wait_until(paced.ready, 300, "paced (%d reps) ready" % nreps,
               paced.proc, paced.log)
    ready = time.monotonic() - t0
    time.sleep(2)
    rss = proc_status(paced.pid, "VmRSS")
    hwm = proc_status(paced.pid, "VmHWM")
    paced.stop()
    return {"reps": nreps, "rss": rss, "hwm": hwm, "ready": ready}


def stop_run(procs, build, rundir, org, brokers, rds, nreps, delay=5.0):
    """SIGTERM during the start-up pass: the wall clock on an idle topic,
    so every owned rep is judged once the partitions are caught up; the
    stop comes `delay` seconds after the first evaluation."""
    d = os.path.join(rundir, "stop-%d" % nreps)
    os.makedirs(d, exist_ok=True)
    roster = os.path.join(d, "roster.csv")
    org.write_roster(roster, nreps)
    cfg = os.path.join(d, "paced.yaml")
    port = free_port()
    write_config(cfg, org, roster, brokers, rds.port, port, IDLE_TOPIC,
                 "bench-stop-%d" % nreps, clock="wall", every="1d")
    paced = Paced(procs, build, cfg, os.path.join(d, "paced.log"), port)
    wait_until(paced.ready, 300, "paced (%d reps) ready" % nreps,
               paced.proc, paced.log)

    def evaluations():
        m = paced.metrics()
        return sum(v for k, v in m.items()
                   if k.startswith("paced_evaluations_total"))
    wait_until(lambda: evaluations() > 0, 120, "the start-up pass",
               paced.proc, paced.log)
    time.sleep(delay)
    done = evaluations()
    t = time.monotonic()
    os.kill(paced.pid, signal.SIGTERM)
    try:
        rc = paced.proc.wait(60)
    except subprocess.TimeoutExpired:
        paced.stop()
        rc = None
    return {"reps": nreps, "delay": delay, "done": done, "rc": rc,
            "seconds": time.monotonic() - t}


# ---- the table ----

def fmt_rate(x):
    return "{:,.0f}".format(x)


def table(ctx):
    L = []
    a = L.append
    a("paced end-to-end bench: %s events over %s reps, %d teams, %d partitions, lz4"
      % (fmt_rate(ctx["events"]), fmt_rate(ctx["reps"]), ctx["teams"],
         ctx["partitions"]))
    a("machine: %s" % ctx["machine"])
    a("all on this one box: mock broker (paced-devbroker), redis-server 7 "
      "(AOF everysec, a fresh one per consumer), the consumer, the producer")
    a("redis-server settings added: %s" % (" ".join(REDIS_ARGS) or "none"))
    a("stream: %s messages verified in the broker, %.0f B/event on average (JSON)"
      % (fmt_rate(ctx["broker_count"]), ctx["avg_bytes"]))
    a("")
    a("%-40s %12s %10s  %s" % ("consumer", "events/s", "vs raw", "exact"))
    raw = ctx.get("raw")
    for name, label in (("raw", "raw librdkafka, count only (C)"),
                        ("naive", "naive Python, 2 HINCRBY/event, no dedupe"),
                        ("plain", "paced, analytics outputs off"),
                        ("paced", "paced (enriched events, snapshots)")):
        r = ctx.get(name)
        if r is None:
            a("%-40s %12s" % (label, "not run"))
            continue
        ratio = r["rate"] / raw["rate"] if raw else float("nan")
        a("%-40s %12s %10.4f  %s" % (label, fmt_rate(r["rate"]), ratio,
                                     r["exact"]))
    if ctx.get("naive") and ctx.get("paced"):
        a("%-40s %12s %10.3f" % ("paced / naive", "",
                                 ctx["paced"]["rate"] / ctx["naive"]["rate"]))
    a("")
    a("%-40s %12s %12s" % ("per event", "naive", "paced"))
    rows = (("Redis commands", "commands", "%.2f"),
            ("redis-server CPU (us)", "cpu_us", "%.1f"),
            ("Redis memory (B)", "mem", "%.0f"),
            ("AOF (B)", "aof", "%.0f"),
            ("consumer CPU (us)", "own_cpu_us", "%.1f"))
    for label, k, f in rows:
        vals = []
        for name in ("naive", "paced"):
            r = ctx.get(name)
            vals.append(f % r["per"][k] if r else "-")
        a("%-40s %12s %12s" % (label, vals[0], vals[1]))
    if ctx.get("raw"):
        a("%-40s %12.2f" % ("raw consumer CPU (us)", ctx["raw"]["own_cpu_us"]))
    if ctx.get("paced"):
        a("paced Redis commands per event: " + ", ".join(
            "%s %.2f" % (k, v) for v, k in ctx["paced"]["per"]["by_cmd"][:8]))
        a("paced Redis time per event by command, us (a script's includes "
          "the commands it calls): " + ", ".join(
            "%s %.1f" % (k, v) for v, k in ctx["paced"]["per"]["by_usec"][:8]))
    if ctx.get("paced"):
        a("paced window (first counted event to last): %.1f s; rep "
          "evaluations that ran in it: %s"
          % (ctx["paced"]["seconds"], fmt_rate(ctx["paced"]["evaluations"])))
        b = ctx["paced"]["boards"]
        a("paced with its leaderboard values written too (%.1f s after the "
          "last count; %s rep evaluations by then), per event: %.2f Redis "
          "commands, %.1f us redis-server CPU, %.0f B memory, %.0f B AOF"
          % (ctx["paced"]["boards_s"],
             fmt_rate(ctx["paced"]["evaluations2"]), b["commands"],
             b["cpu_us"], b["mem"], b["aof"]))
    a("")
    if ctx.get("latency"):
        a("produce-to-visible, paced (keyspace notification of the rep's day "
          "counter key)")
        a("%-8s %8s %9s %15s %9s %9s %9s %10s" % (
            "rate/s", "seconds", "achieved", "visible", "p50", "p99", "max",
            "caught up"))
        for x in ctx["latency"]:
            a("%-8s %8d %9s %15s %9s %9s %9s %10s" % (
                fmt_rate(x["rate"]), x["secs"], fmt_rate(x["achieved"]),
                "%d/%d" % (x["visible"], x["produced"]),
                fmt_dur(x["p50"]), fmt_dur(x["p99"]), fmt_dur(x["max"]),
                fmt_dur(x["caught_up"])))
        a("(caught up: from the last event produced until paced had counted "
          "them all)")
        for x in ctx["latency"]:
            a("at %s/s: %s batches, mean ms per batch: %s" % (
                fmt_rate(x["rate"]), fmt_rate(x["batches"]), ", ".join(
                    "%s %.1f" % (st, x["stage_ms"][st]) for st in STAGES)))
        a("(paced_batch_stage_seconds: filling is a batch's first message "
          "to its flush, while the batch before is in the later stages)")
        for x in ctx["latency"]:
            top = sorted(x["usec"].items(), key=lambda kv: -kv[1])[:5]
            a("at %s/s, per event from the first produced to the last "
              "counted: redis-server CPU %.1f us (by command: %s), paced "
              "CPU %.1f us; %s rep evaluations" % (
                  fmt_rate(x["rate"]), x["redis_us"],
                  ", ".join("%s %.1f" % kv for kv in top), x["paced_us"],
                  fmt_rate(x["evaluations"])))
        a("(Redis's figures include the bench's keyspace subscriber, an "
          "HMGET a notification; a script's time includes its commands')")
        for x in ctx["latency"]:
            r = x["read"]
            a("at %s/s: produce to read by paced (%s): mean %s, p50 <= %s, "
              "p99 <= %s" % (fmt_rate(x["rate"]), READ_DELAY,
                             fmt_dur(r["mean"]), fmt_dur(r["p50"]),
                             fmt_dur(r["p99"])))
        a("")
    if ctx.get("eval"):
        e = ctx["eval"]
        n = max(1, e["evaluations"])
        a("evaluation pass (evaluate_every timer, no ingest): %s reps owned, "
          "%s evaluations (%s judged from the evaluator's copy, %s read "
          "from Redis), wall %.2f s (spread over half the interval), "
          "event loop stalls %d"
          % (fmt_rate(e["owned"]), fmt_rate(e["evaluations"]),
             fmt_rate(e["from_cache"]), fmt_rate(e["from_redis"]), e["wall"],
             e["stalls"]))
        a("  paced CPU %.2f s (%.1f us/rep; the event loop's thread alone "
          "%.2f s, %.1f us/rep; the rest is librdkafka's threads and the "
          "metrics scrapes meanwhile)"
          % (e["cpu"], e["cpu"] * 1e6 / n, e["loop_cpu"],
             e["loop_cpu"] * 1e6 / n))
        a("  Redis commands per rep: %.2f sent by paced (conn=main), %.1f "
          "run by Redis (a script's own commands included)"
          % (e["sent"] / n, e["commands_per_rep"]))
    if ctx.get("rss"):
        parts = ["%s reps %.1f MiB = %.0f B/rep" % (
            fmt_rate(x["reps"]), x["rss"] / 1048576, x["rss"] / x["reps"])
            for x in ctx["rss"]]
        s = "RSS after loading the roster (VmRSS, clock: event, idle topic): " + "; ".join(parts)
        if len(ctx["rss"]) >= 2:
            a0, b0 = ctx["rss"][0], ctx["rss"][-1]
            s += "; %.0f B/rep between them" % (
                (b0["rss"] - a0["rss"]) / (b0["reps"] - a0["reps"]))
        a(s)
    for x in ctx.get("stop", []):
        a("SIGTERM %.0f s into the start-up pass at %s reps (%s evaluations "
          "done): exit %s after %.2f s (the stop's bound: 20 s)" % (
              x["delay"], fmt_rate(x["reps"]), fmt_rate(x["done"]),
              "none (killed)" if x["rc"] is None else x["rc"], x["seconds"]))
    return "\n".join(L)


def fmt_dur(s):
    if s != s:
        return "-"
    if s < 1:
        return "%.0f ms" % (s * 1000)
    return "%.1f s" % s


def duration_s(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if text.endswith(u):
            return float(text[:-len(u)]) * units[u]
    return float(text)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--subscribe":
        subscribe_main(*sys.argv[2:8])
        return 0
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    nevents = env_int("BENCH_EVENTS", 1000000)
    nreps = env_int("BENCH_REPS", 100000)
    nteams = env_int("BENCH_TEAMS", 50)
    nparts = env_int("BENCH_PARTITIONS", 32)
    rates = env_list("BENCH_RATES", "2000,10000")
    rate_secs = env_int("BENCH_RATE_SECONDS", 20)
    rss_reps = env_list("BENCH_RSS_REPS", "100000,1000000")
    seed = env_int("BENCH_SEED", 1)
    every = os.environ.get("BENCH_EVAL_EVERY", "1m")
    skip = set(x for x in os.environ.get("BENCH_SKIP", "").split(",") if x)
    for b in ("paced", "paced-devbroker", "tests/bench/rawcount"):
        if not os.access(os.path.join(build, b), os.X_OK):
            fail("%s is not built" % os.path.join(build, b))
    rundir = os.path.join(build, "bench-e2e")
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    procs = Procs()
    ctx = {"events": nevents, "reps": nreps, "teams": nteams,
           "partitions": nparts, "machine": machine()}
    ok = True
    try:
        addr = os.path.join(rundir, "broker.addr")
        broker = procs.start([os.path.join(build, "paced-devbroker"),
                              "--partitions", str(nparts), "--topic", TOPIC,
                              "--topic", IDLE_TOPIC, "--topic", WARMUP_TOPIC,
                              "--topic", "sales.activity.dlq",
                              "--topic", "sales.alerts",
                              "--topic", "sales.activity.enriched",
                              "--topic", "sales.scorecards", "--addr-file", addr],
                             os.path.join(rundir, "broker.log"))
        wait_until(lambda: os.path.exists(addr), 20, "paced-devbroker", broker,
                   os.path.join(rundir, "broker.log"))
        brokers = open(addr).read().strip()
        org = Org(nreps, nteams)
        exp = Expect()
        say("producing %d events over %d reps" % (nevents, nreps))
        t = time.monotonic()
        nbytes = preproduce(brokers, org, nevents, seed, exp)
        ctx["avg_bytes"] = nbytes / nevents
        ctx["broker_count"] = broker_count(brokers, TOPIC)
        say("produced in %.1f s; the broker holds %d" % (
            time.monotonic() - t, ctx["broker_count"]))
        if ctx["broker_count"] != nevents:
            fail("the broker holds %d of %d events (the mock keeps about "
                 "5 MiB a partition: more partitions or fewer events)"
                 % (ctx["broker_count"], nevents))

        if "raw" not in skip:
            say("raw consumer")
            out = subprocess.run([os.path.join(build, "tests/bench/rawcount"),
                                  brokers, TOPIC, str(nevents), "300"],
                                 capture_output=True, text=True)
            res = json.loads(out.stdout)
            exact = out.returncode == 0 and res["messages"] == nevents
            ok &= exact
            ctx["raw"] = {"rate": res["per_second"],
                          "own_cpu_us": res["cpu_seconds"] * 1e6 / nevents,
                          "exact": "yes (%d messages)" % res["messages"] if exact
                          else "NO (%d of %d)" % (res["messages"], nevents)}

        if "naive" not in skip:
            say("naive consumer")
            rds = Redis(procs, rundir, "redis-naive")
            s0 = rds.snapshot()
            out = subprocess.run([PY, os.path.join(HERE, "naive_consumer.py"),
                                  brokers, TOPIC, str(rds.port), str(nevents), "600"],
                                 capture_output=True, text=True)
            s1 = rds.snapshot()
            if out.returncode != 0 and not out.stdout:
                fail("naive consumer: " + out.stderr[-2000:])
            res = json.loads(out.stdout)
            good, nkeys = verify_naive(rds, exp)
            good &= res["messages"] == nevents
            ok &= good
            per = per_event(s0, s1, nevents)
            per["own_cpu_us"] = res["cpu_seconds"] * 1e6 / nevents
            ctx["naive"] = {"rate": res["per_second"], "per": per,
                            "exact": "yes (%d hashes)" % nkeys if good else "NO"}
            rds.stop()

        if "plain" not in skip:
            # The same with the analytics outputs off: what the enriched
            # events topic and the snapshots cost.
            say("paced, analytics outputs off")
            rds = Redis(procs, rundir, "redis-plain")
            d = os.path.join(rundir, "plain")
            os.makedirs(d)
            roster = os.path.join(d, "roster.csv")
            org.write_roster(roster, nreps)
            cfg = os.path.join(d, "paced.yaml")
            port = free_port()
            write_config(cfg, org, roster, brokers, rds.port, port, TOPIC,
                         "bench-plain", every=every,
                         extra="analytics: {enriched: false, snapshots: false}\n")
            paced = Paced(procs, build, cfg, os.path.join(d, "paced.log"), port)
            w = count_all(paced, rds, nevents)
            rate = ((nevents - w["c0"]) / (w["t1"] - w["t0"])
                    if w["t1"] > w["t0"] else float("nan"))
            good = w["c"] == nevents and w["other"] == 0
            ok &= good
            ctx["plain"] = {"rate": rate,
                            "exact": "yes (counts only)" if good else
                            "NO (counted %d, other %d)" % (w["c"], w["other"])}
            say("paced (analytics off) counted %d at %.0f/s" % (w["c"], rate))
            paced.stop()
            rds.stop()

        if "paced" not in skip:
            say("paced")
            rds = Redis(procs, rundir, "redis-paced")
            d = os.path.join(rundir, "paced")
            os.makedirs(d)
            roster = os.path.join(d, "roster.csv")
            org.write_roster(roster, nreps)
            cfg = os.path.join(d, "paced.yaml")
            port = free_port()
            write_config(cfg, org, roster, brokers, rds.port, port, TOPIC,
                         "bench-paced", every=every,
                         extra="analytics: {enriched: true, snapshots: true}\n")
            s0 = rds.snapshot()
            paced = Paced(procs, build, cfg, os.path.join(d, "paced.log"), port)
            w = count_all(paced, rds, nevents)
            t0, t1, c0, c, other = w["t0"], w["t1"], w["c0"], w["c"], w["other"]
            cpu0, cpu1, e0, e1, s1 = (w["cpu0"], w["cpu1"], w["e0"], w["e1"],
                                      w["s1"])
            rate = (nevents - c0) / (t1 - t0) if t1 > t0 else float("nan")
            say("paced counted %d (other %d) at %.0f/s; verifying" % (c, other, rate))
            wait_quiet_evaluator(paced)
            good, nkeys = verify_paced(rds, exp)
            good &= c == nevents and other == 0
            # Every counted event went to the enriched events topic.
            enriched = int(paced.metrics().get(
                'paced_enriched_messages_total{result="delivered"}', 0))
            good &= enriched >= c
            ok &= good
            per = per_event(s0, s1, nevents)
            per["own_cpu_us"] = (cpu1 - cpu0) * 1e6 / (nevents - c0)
            ctx["paced"] = {"rate": rate, "per": per, "seconds": t1 - t0,
                            "evaluations": e1 - e0,
                            "boards": per_event(s0, w["s2"], nevents),
                            "boards_s": w["boards_s"],
                            "evaluations2": w["e2"] - e0,
                            "exact": "yes (%d rep day and week hashes, "
                            "%d enriched)" % (nkeys, enriched)
                            if good else "NO (counted %d, other %d, enriched "
                            "%d)" % (c, other, enriched)}

            if "eval" not in skip:
                say("evaluation pass (waiting for the next %s boundary)" % every)
                r0 = rds.snapshot()
                ev = eval_pass(paced, duration_s(every))
                r1 = rds.snapshot()
                ev["commands_per_rep"] = (r1["calls"] - r0["calls"]) / max(1, ev["evaluations"])
                ctx["eval"] = ev

            if "latency" not in skip:
                rds.r.config_set("notify-keyspace-events", "Kh")
                ctx["latency"] = []
                day0 = 5
                for rate in rates:
                    say("produce-to-visible at %d/s for %d s" % (rate, rate_secs))
                    res, day0 = latency_run(brokers, org, rds, paced, rundir,
                                            rate, rate_secs, day0, seed + rate)
                    ctx["latency"].append(res)
                    wait_quiet_evaluator(paced)
            paced.stop()
            rds.stop()

        if "rss" not in skip:
            rds = Redis(procs, rundir, "redis-rss")
            ctx["rss"] = []
            for n in rss_reps:
                say("RSS with %d reps" % n)
                big = Org(n, nteams)
                ctx["rss"].append(rss_run(procs, build, rundir, big, brokers, rds, n))
            rds.stop()

        if "stop" not in skip and rss_reps:
            rds = Redis(procs, rundir, "redis-stop")
            n = max(rss_reps)
            say("SIGTERM during the start-up pass with %d reps" % n)
            ctx["stop"] = [stop_run(procs, build, rundir, Org(n, nteams),
                                    brokers, rds, n)]
            rds.stop()
    finally:
        procs.stop_all()
    text = table(ctx)
    with open(os.path.join(rundir, "table.txt"), "w") as f:
        f.write(text + "\n")
    print()
    print(text)
    if not ok:
        say("FAILED: a consumer's counts were not exact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

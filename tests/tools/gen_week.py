#!/usr/bin/env python3
"""One simulated sales week on the event clock, and the alerts it must raise.

    gen_week.py --now RFC3339 --out DIR [--prefix paced] [--split-after DAY]

The week is the Monday-to-Friday before the week holding --now, in the
team's zone, so that every event lies in the past (paced refuses events
more than a day ahead of the wall clock) and inside every Redis lifetime.

Writes into DIR:

  org.yaml       the clock, kpis, calendars, roles, managers, teams, reps and
                 alerts blocks of a config (connection blocks: the caller's).
  stream.tsv     the whole week, one Kafka message a line, KEY<TAB>VALUE,
                 in time order (ties: the order of the reps below).
  stream-1.tsv   the lines up to the end of --split-after (a weekday name,
  stream-2.tsv   default wed) and the rest, for a restart in between.
  expected.json  {"prefix", "activity_messages", "part1_messages",
                 "week_start", "reps", "counters", "alerts", "ticks"}
                 ("alerts": rep_id, kpi, period, status, severity, reason,
                 evaluated_at, period_start, period_end, the figures,
                 notify, and "bucket", the bucket's first local day):
                 the counter hashes Redis must hold, and every alert message
                 in the order the daemon must publish it, computed here with
                 zoneinfo from the rules below, independently of the
                 daemon's code.

The org: team "central" (America/Chicago, Mon-Fri 09:00-17:00, week starts
Monday), manager m-central who reports to vp-sales. KPI calls <- call
(leading), role "ae" with targets day 40 and week 200. Alerts on day and
week, warning below 0.8, critical below 0.5, grace 0.2, repeat 8h,
evaluated every 30m on the event clock.

Reps (ids chosen so that Kafka's murmur2 puts all four in one partition of
six: on the event clock a boundary is evaluated when the first later event
arrives, so the events must be consumed in time order, which Kafka only
guarantees within a partition):

  rep-steady     40 calls a day, one every 12 minutes from 09:03: on pace.
  rep-recovers   15 calls Monday, 26 Tuesday, 100 Wednesday (catching up
                 the week), then 40 a day.
  rep-stopped    40 calls Monday, 41 Tuesday, then nothing at all.
  rep-sentinel   role "observer" (no targets, so never alerted): one call at
                 Friday 23:45, the last event, whose only use is to move the
                 event clock past every boundary up to Friday 23:30. (Any
                 decodable event would do: paced checks the boundaries
                 before it looks the rep or type up. A counted one is the
                 plainest, and being last it is counted after every
                 boundary, so it changes no judgement.)

A few calls of rep-steady are sent twice (a producer retry): counted once.

The rules modelled (include/pacing.h, include/alert.h, include/evaluate.h,
daemon/ingest.c):

  * Boundaries are the multiples of 30 minutes since the epoch. The first
    event sets the clock at its boundary (not evaluated); each later event
    first has every boundary at or before its time evaluated, each with
    exactly the events that occurred before it counted. So the boundaries
    evaluated are first+30m .. the last one at or before the sentinel's
    call, and at each one every rep is judged, in roster order.
  * Per rep, for each (kpi, period) in the order calls/day, calls/week:
    if the stored state belongs to an earlier bucket and still fires, a
    "resolved" message (reason period_ended) with the figures that bucket
    ended with; then the current bucket steps the state machine.
  * fraction = working ms elapsed / working ms of the bucket (exact ms,
    9:00-17:00 local, Mon-Fri); expected = target * fraction; pace =
    actual / expected. Status: not_started while fraction is 0; ahead at
    pace >= 1.1, on_pace >= 0.8, behind >= 0.5, else critical.
  * State machine: on_pace/ahead while firing -> resolved (recovered);
    behind/critical only once fraction >= grace; level critical for status
    critical (whatever the pace: a broken cap of a lower-is-better KPI; the
    week has none, so here that is pace below 0.5), else by pace: critical
    below 0.5, warning below 0.8; a higher level fires (critical: reason
    escalated);
    the same level repeats once 8h of working time (the bucket's elapsed
    working ms, as for the fraction) have passed since the last firing
    message, so never at night or on the weekend, and a day alert never
    (a day has 8 working hours and nothing fires inside the first 20%);
    a critical alert whose rep is only at warning level stays quiet;
    not_started changes nothing.
  * notify: the rep's manager, plus vp-sales on every message of a
    critical alert.
  * Figures of a message: actual, target, expected_to_date, pace,
    projected (actual / fraction; null before any working time),
    required_rate ((target - actual) / remaining working days, 0 once the
    target is met, null when no working time remains); a period_ended
    message carries the figures the ended bucket closed with, whatever its
    last firing message said (since repeats count working time, calls
    made after it are in no message): actual = every call of the rep in
    that bucket (all are counted before the boundary that ends it is
    judged), target, expected = the target (all the working time is
    over), pace = actual / target, projected = actual, required_rate 0
    if the target was met, else null. A day alert carries required_rate
    null (its message says what is left today), and every alert remaining
    = max(target - actual, 0).

The generator refuses a scenario in which a pace lands within 1e-3 of the
warning or critical threshold where the status matters (past the grace, or
while an alert fires), or a fraction within 1e-9 of the grace other than
the exact 0.2 the week reaches at Monday 17:00 (8 of 40 working hours, a
ratio of integers that double arithmetic rounds the same way on both
sides as the literal 0.2).
"""

import argparse
import datetime as dt
import json
import os
import sys
from zoneinfo import ZoneInfo

ZONE = "America/Chicago"
TEAM = "central"
MANAGER = "m-central"
MANAGER_UP = "vp-sales"
EVERY_MS = 30 * 60 * 1000
HOUR_MS = 3600 * 1000
WORK_START = (9, 0)
WORK_END = (17, 0)
TARGET = {"day": 40.0, "week": 200.0}
WARNING_BELOW = 0.8
CRITICAL_BELOW = 0.5
AHEAD_ABOVE = 1.1
GRACE = 0.2
REPEAT_MS = 8 * HOUR_MS
PERIODS = ("day", "week")
DAYS = ("mon", "tue", "wed", "thu", "fri")

# Alerted reps in roster order, then the clock carrier.
REPS = ("rep-steady", "rep-recovers", "rep-stopped")
SENTINEL = "rep-sentinel"

NOT_STARTED, AHEAD, ON_PACE, BEHIND, CRITICAL = range(5)
NONE, WARNING, CRIT = 0, 1, 2
LEVEL_NAME = {WARNING: "warning", CRIT: "critical"}

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_ms(t):
    return (t - EPOCH) // dt.timedelta(milliseconds=1)


def utc_text(ms):
    t = EPOCH + dt.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def local_text(t):
    """RFC 3339 with the local offset, as paced writes period_start."""
    off = t.utcoffset()
    mins = int(off.total_seconds()) // 60
    sign = "-" if mins < 0 else "+"
    mins = abs(mins)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "%s%02d:%02d" % (
        sign, mins // 60, mins % 60)


class Week:
    def __init__(self, now, zone):
        self.zone = zone
        local_now = now.astimezone(zone)
        this_monday = local_now.date() - dt.timedelta(days=local_now.weekday())
        self.monday = this_monday - dt.timedelta(days=7)
        # Working spans [start, end) in UTC ms, per weekday index 0..4.
        self.spans = []
        for i in range(5):
            d = self.monday + dt.timedelta(days=i)
            s = dt.datetime(d.year, d.month, d.day, *WORK_START, tzinfo=zone)
            e = dt.datetime(d.year, d.month, d.day, *WORK_END, tzinfo=zone)
            self.spans.append((to_ms(s), to_ms(e)))

    def at(self, day_index, hh, mm, ss=0):
        d = self.monday + dt.timedelta(days=day_index)
        return dt.datetime(d.year, d.month, d.day, hh, mm, ss,
                           tzinfo=self.zone)

    def local_date(self, ms):
        return (EPOCH + dt.timedelta(milliseconds=ms)).astimezone(
            self.zone).date()

    def worktime(self, period, now_ms):
        """(elapsed_ms, total_ms) of the bucket holding now_ms."""
        today = self.local_date(now_ms)
        if period == "day":
            days = [today]
        else:
            start = today - dt.timedelta(days=today.weekday())
            days = [start + dt.timedelta(days=i) for i in range(7)]
        elapsed = total = 0
        for d in days:
            if d.weekday() >= 5:
                continue
            s = to_ms(dt.datetime(d.year, d.month, d.day, *WORK_START,
                                  tzinfo=self.zone))
            e = to_ms(dt.datetime(d.year, d.month, d.day, *WORK_END,
                                  tzinfo=self.zone))
            total += e - s
            if d < today:
                elapsed += e - s
            elif d == today:
                elapsed += min(max(now_ms - s, 0), e - s)
        return elapsed, total

    def bucket_start(self, period, now_ms):
        d = self.local_date(now_ms)
        if period == "week":
            d -= dt.timedelta(days=d.weekday())
        return d

    def bucket_utc(self, period, start):
        """[start, end) of a bucket in UTC ms."""
        end = start + dt.timedelta(days=1 if period == "day" else 7)
        return tuple(to_ms(dt.datetime(d.year, d.month, d.day,
                                       tzinfo=self.zone))
                     for d in (start, end))

    def bucket_bounds(self, period, start):
        end = start + dt.timedelta(days=1 if period == "day" else 7)
        return (local_text(dt.datetime(start.year, start.month, start.day,
                                       tzinfo=self.zone)),
                local_text(dt.datetime(end.year, end.month, end.day,
                                       tzinfo=self.zone)))


def spread(week, day_index, n, offset_s):
    """n instants evenly over the working day, at the middle of n slots."""
    s, e = week.spans[day_index]
    out = []
    for k in range(n):
        ms = s + (2 * k + 1) * (e - s) // (2 * n) + offset_s * 1000
        out.append(ms - ms % 1000)
    return out


def schedule(week):
    """[(ms, rep)] of every call, and the set of (rep, ms) sent twice."""
    calls = []
    for day in range(5):
        s, _ = week.spans[day]
        for k in range(40):
            calls.append((s + (3 + 12 * k) * 60000 + 10000, "rep-steady"))
    for day, n in enumerate((15, 26, 100, 40, 40)):
        for ms in spread(week, day, n, 11):
            calls.append((ms, "rep-recovers"))
    for day, n in enumerate((40, 41)):
        for ms in spread(week, day, n, 23):
            calls.append((ms, "rep-stopped"))
    calls.append((to_ms(week.at(4, 23, 45)), SENTINEL))
    order = {r: i for i, r in enumerate(REPS + (SENTINEL,))}
    calls.sort(key=lambda c: (c[0], order[c[1]]))
    for ms, _ in calls:
        if ms % EVERY_MS == 0:
            raise SystemExit("an event lies on a boundary: %s" % utc_text(ms))
    steady = [ms for ms, rep in calls if rep == "rep-steady"]
    twice = {("rep-steady", steady[i]) for i in (2, 77, 160)}
    return calls, twice


def status_of(actual, target, fraction):
    """(status, expected, pace or None), as pacing_evaluate computes."""
    expected = target * fraction
    if fraction == 0:
        return NOT_STARTED, expected, None
    if expected <= 0:
        return ON_PACE, expected, None
    pace = actual / expected
    if pace >= AHEAD_ABOVE:
        return AHEAD, expected, pace
    if pace >= WARNING_BELOW:
        return ON_PACE, expected, pace
    if pace >= CRITICAL_BELOW:
        return BEHIND, expected, pace
    return CRITICAL, expected, pace


class State:
    def __init__(self, start):
        self.start = start
        self.level = NONE
        self.last_sent_worked = 0
        self.figures = None


def model(week, calls):
    """Every alert message of the week, in publication order."""
    times = sorted(ms for ms, r in calls)
    first, last = times[0], times[-1]
    ticks = list(range((first // EVERY_MS + 1) * EVERY_MS,
                       last // EVERY_MS * EVERY_MS + 1, EVERY_MS))
    per_rep = {r: sorted(ms for ms, x in calls if x == r) for r in REPS}
    states = {}
    alerts = []
    ties = []

    def emit(rep, period, st, status, severity, reason, at, figs, start):
        ps, pe = week.bucket_bounds(period, start)
        notify = [MANAGER] + ([MANAGER_UP] if severity == CRIT else [])
        alerts.append({
            "rep_id": rep, "kpi": "calls", "period": period,
            "status": status, "severity": LEVEL_NAME[severity],
            "reason": reason, "evaluated_at": utc_text(at),
            "period_start": ps, "period_end": pe,
            "actual": figs[0], "target": figs[1], "expected_to_date": figs[2],
            "pace": figs[3], "projected": figs[4],
            # A day alert speaks of what is left today, not of a rate.
            "required_rate": None if period == "day" else figs[5],
            "remaining": max(figs[1] - figs[0], 0),
            "notify": notify, "bucket": start.isoformat()})

    for at in ticks:
        for rep in REPS:
            for period in PERIODS:
                start = week.bucket_start(period, at)
                st = states.get((rep, period))
                if st is not None and st.start != start:
                    if st.level != NONE:
                        # The figures the bucket ended with: all of its
                        # calls against its whole target.
                        lo, hi = week.bucket_utc(period, st.start)
                        a = float(sum(1 for ms in per_rep[rep]
                                      if lo <= ms < hi))
                        t = TARGET[period]
                        emit(rep, period, st, "resolved", st.level,
                             "period_ended", at,
                             (a, t, t, a / t, a, 0.0 if a >= t else None),
                             st.start)
                    st = None
                if st is None:
                    st = states[(rep, period)] = State(start)
                # Calls before the boundary, in this bucket.
                lo = to_ms(dt.datetime(start.year, start.month, start.day,
                                       tzinfo=week.zone))
                actual = float(sum(1 for ms in per_rep[rep] if lo <= ms < at))
                elapsed, total = week.worktime(period, at)
                if total <= 0 or elapsed <= 0:
                    fraction = 0.0
                elif elapsed >= total:
                    fraction = 1.0
                else:
                    fraction = elapsed / total
                status, expected, pace = status_of(actual, TARGET[period],
                                                   fraction)
                # Inside the grace with nothing firing, the status
                # changes nothing: a tie there is harmless.
                if pace is not None and (fraction >= GRACE or
                                         st.level != NONE):
                    for th in (WARNING_BELOW, CRITICAL_BELOW):
                        if abs(pace - th) < 1e-3:
                            ties.append("%s %s %s pace %.6f" % (
                                utc_text(at), rep, period, pace))
                if (abs(fraction - GRACE) < 1e-9 and
                        not (period == "week" and elapsed == 8 * HOUR_MS)):
                    ties.append("%s %s %s fraction %.12f" % (
                        utc_text(at), rep, period, fraction))
                target = TARGET[period]
                projected = actual / fraction if fraction > 0 else None
                left_days = (total - elapsed) / (8 * HOUR_MS)
                if actual >= target:
                    rate = 0.0
                elif total - elapsed > 0:
                    rate = (target - actual) / left_days
                else:
                    rate = None
                st.figures = (actual, target, expected, pace, projected, rate)
                step(st, rep, period, status, pace, fraction, elapsed, at,
                     emit)
    return ticks, alerts, ties


def step(st, rep, period, status, pace, fraction, worked, at, emit):
    """One alert_step; worked is the bucket's elapsed working ms at at."""
    figs = st.figures
    if status in (AHEAD, ON_PACE):
        if st.level != NONE:
            emit(rep, period, st, "resolved", st.level, "recovered", at,
                 figs, st.start)
            st.level = NONE
            st.last_sent_worked = 0
        return
    if status not in (BEHIND, CRITICAL):
        return
    if not fraction >= GRACE:
        return
    want = CRIT if status == CRITICAL or pace < CRITICAL_BELOW else WARNING
    if want > st.level:
        emit(rep, period, st, "firing", want,
             "escalated" if want == CRIT else "fired", at, figs, st.start)
        st.level = want
        st.last_sent_worked = worked
    elif want == st.level and worked - st.last_sent_worked >= REPEAT_MS:
        emit(rep, period, st, "firing", want, "repeat", at, figs, st.start)
        st.last_sent_worked = worked


def counters(week, calls, prefix):
    out = {}
    for ms, rep in calls:
        d = week.local_date(ms)
        starts = {
            "day": d,
            "week": d - dt.timedelta(days=d.weekday()),
            "month": d.replace(day=1),
            "quarter": d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1),
        }
        for period, s in starts.items():
            # the rep's counter shard (README: FNV-1a 64 modulo
            # redis.shards, 32 by default): its field and its team's share
            for what, owner in (("cnt", rep), ("team", TEAM)):
                key = "%s:{s:%d}:%s:%s:%s" % (prefix, shard_of(rep), what,
                                              period, s.isoformat())
                h = out.setdefault(key, {})
                f = owner + "|calls"
                h[f] = h.get(f, 0) + 1
    return out


def shard_of(rep, shards=32):
    h = 0xcbf29ce484222325
    for b in rep.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % shards


def org_yaml(week):
    reps = "\n".join(
        '  - {id: "%s", team: %s, role: %s}' % (
            r, TEAM, "observer" if r == SENTINEL else "ae")
        for r in REPS + (SENTINEL,))
    return """# Generated by tests/tools/gen_week.py (week of %s)
clock: event
kpis:
  - {name: calls, kind: leading, events: [call]}
calendars:
  default:
    working_days: [mon, tue, wed, thu, fri]
    working_hours: "09:00-17:00"
    week_start: mon
    fiscal_year_start: jan
roles:
  ae:
    targets:
      calls: {day: 40, week: 200}
  observer: {}
managers:
  - {id: %s, manager: %s}
  - {id: %s}
teams:
  - {id: %s, timezone: "%s", calendar: default, manager: %s}
reps:
%s
alerts:
  periods: [day, week]
  kpis: leading
  warning_below: 0.8
  critical_below: 0.5
  grace: 0.2
  repeat_interval: 8h
  evaluate_every: 30m
  min_breach: 0s
  min_breach_evaluations: 1
  resolve_margin: 0
""" % (week.monday.isoformat(), MANAGER, MANAGER_UP, MANAGER_UP, TEAM, ZONE,
       MANAGER, reps)


def event_line(week, rep, ms, n):
    t = (EPOCH + dt.timedelta(milliseconds=ms)).astimezone(week.zone)
    value = json.dumps({
        "event_id": "%s-%s-%03d" % (rep, t.strftime("%Y%m%dT%H%M%S"), n),
        "rep_id": rep, "type": "call", "occurred_at": local_text(t)},
        separators=(",", ":"))
    return ("%s\t%s\n" % (rep, value)).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--now", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="paced")
    ap.add_argument("--split-after", default="wed", choices=DAYS)
    args = ap.parse_args()

    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    week = Week(now, ZoneInfo(ZONE))
    calls, twice = schedule(week)
    ticks, alerts, ties = model(week, calls)
    if ties:
        raise SystemExit("scenario too close to a threshold:\n  " +
                         "\n  ".join(ties))

    split_ms = to_ms(week.at(DAYS.index(args.split_after), 0, 0) +
                     dt.timedelta(days=1))
    lines, part1, part2 = [], [], []
    for n, (ms, rep) in enumerate(calls):
        line = event_line(week, rep, ms, n)
        copies = [line, line] if (rep, ms) in twice else [line]
        for c in copies:
            lines.append(c)
            (part1 if ms < split_ms else part2).append(c)

    os.makedirs(args.out, exist_ok=True)

    def write(name, data, mode="wb"):
        tmp = os.path.join(args.out, name + ".tmp")
        with open(tmp, mode) as f:
            f.write(data)
        os.rename(tmp, os.path.join(args.out, name))

    write("org.yaml", org_yaml(week), "w")
    write("stream.tsv", b"".join(lines))
    write("stream-1.tsv", b"".join(part1))
    write("stream-2.tsv", b"".join(part2))
    exp = {"prefix": args.prefix,
           "week_start": week.monday.isoformat(),
           "activity_messages": len(lines),
           "part1_messages": len(part1),
           "reps": list(REPS) + [SENTINEL],
           "ticks": len(ticks),
           "counters": counters(week, calls, args.prefix),
           "alerts": alerts}
    write("expected.json", json.dumps(exp, indent=1, sort_keys=True), "w")
    print("week of %s: %d messages (%d before the split), %d boundaries, "
          "%d alerts" % (week.monday.isoformat(), len(lines), len(part1),
                         len(ticks), len(alerts)))
    for a in alerts:
        print("  %s %-12s %-5s %-8s %-8s %-12s actual %g expected %.3f" % (
            a["evaluated_at"], a["rep_id"], a["period"], a["status"],
            a["severity"], a["reason"], a["actual"], a["expected_to_date"]))


if __name__ == "__main__":
    sys.exit(main())

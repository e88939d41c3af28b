#!/usr/bin/env python3
"""Activity stream generator and oracle for the integration tests.

    gen_stream.py --seed N --events N --now RFC3339 --out DIR
                  [--days 24] [--prefix paced] [--dedupe-window-days 35]

Writes three files into DIR:

  org.yaml       the kpis, calendars, roles, teams and reps blocks of a
                 config (the connection blocks are the caller's).
  stream.tsv     one Kafka message a line: KEY<TAB>VALUE<LF>. The value is
                 raw bytes (it may hold tabs, never LF or CR); an empty key
                 means a message without key.
  expected.json  what a correct daemon must end up with; computed here with
                 zoneinfo and decimal, independently of the daemon's code.

The same seed, event count and --now give byte-identical files.

Roster: 40 reps over 4 teams. east (America/New_York, calendar "us":
week starts Sunday, fiscal year starts in February), emea (Europe/Berlin),
apac (Asia/Kolkata, +05:30) and anz (Australia/Sydney, southern
hemisphere), the last three on calendar "default" (week starts Monday,
fiscal year starts in January). Rep ids use the whole allowed charset
(letters, digits, . _ @ -).

KPIs: calls <- call, email; emails <- email (one type feeds two KPIs);
conversations, meetings_scheduled, meetings_held, proposals,
sales_accepted_opportunities (one type each); deals <- deal_closed (count)
and revenue <- deal_closed (measure amount). roi_discussion and
webinar_attended are mapped to no KPI.

Messages (--events is the total line count):
  * good events: key = rep_id, occurred_at uniform over the last --days days
    before --now, about 8% within a minute of the team's local midnight
    (either side), written in UTC, the team's offset or another offset
    (+05:30, -03:00, +14:00, ...), with 0, 3 or 6 fractional digits; count
    1..5 given on a quarter of the non-deal events; deal_closed always has
    an amount with 2 decimals (a few 0), other types sometimes an amount
    (ignored by count KPIs); unknown fields, nested objects, non-ASCII text
    and wrong team_id hints (the roster wins) appear here and there.
  * exact duplicates (3%): the same key and bytes re-sent later in the
    stream, a third of them far later (an event may be re-sent twice).
  * near duplicates (1%): the same rep and event_id (in half of them one
    '-' of the id written as the escape \\u002d), the same instant written
    with another offset, other field order and whitespace (spaces, tabs).
  * a few event_ids reused by a second rep: dedupe is per rep, so both
    count.
  * skipped (1% each): a rep not on the roster (unknown_rep), a known rep
    with a type mapped to no KPI (unknown_type).
  * bad events: at least one of every reason of include/decode.h plus
    too_old (40 days, and the dedupe window plus 2 days, before --now)
    and too_far_in_future (2 days and 3 days 5 hours after --now);
    each breaks exactly one rule and carries a unique marker, so it can be
    matched by its bytes in the dead-letter topic.

A counted event adds its count (or amount, for an amount KPI) to every KPI
its type feeds, in the day, week, month and quarter buckets that hold
occurred_at in its team's zone, in the rep's counter shard (FNV-1a 64 of
the rep id modulo --shards, as README says): the rep's field and its team's
share of that shard:
  <prefix>:{s:N}:cnt:<period>:<YYYY-MM-DD>   field <rep>|<kpi>
  <prefix>:{s:N}:team:<period>:<YYYY-MM-DD>  field <team>|<kpi>
the date being the bucket's local start day.

expected.json:
  now, prefix, activity_messages
  counters  {key: {field: number}}    every shard counter and team hash
  bad       [{key, value_b64, reason}] every bad event, in stream order
  unknown_rep [{key, value_b64}]      every event of a rep not on the
            roster, in stream order (the DLQ holds them with unknown_rep: dlq)
  totals    {counted, duplicate, bad, skipped: {unknown_rep, unknown_type},
             bad_by_reason: {reason: n}}
  counted_events [{rep, id, type, team, kpis: [kpi], buckets: {period:
            date}}] every counted event, in stream order: what the enriched
            events topic must hold (deduped by rep and event_id)
  probe     {rep, team, period: "day", at, date, actual: {kpi: number}}
            the busiest day of a rep whose id holds '@', for the scorecard
            endpoint
"""

import argparse
import base64
import datetime as dt
import decimal
import json
import os
import random
import sys
import zoneinfo

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
PERIODS = ("day", "week", "month", "quarter")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
          "oct", "nov", "dec")

KPIS = [
    # name, kind, activity types, measure
    ("calls", "leading", ["call", "email"], "count"),
    ("emails", "leading", ["email"], "count"),
    ("conversations", "leading", ["conversation"], "count"),
    ("meetings_scheduled", "leading", ["meeting_scheduled"], "count"),
    ("meetings_held", "leading", ["meeting_held"], "count"),
    ("proposals", "leading", ["proposal_sent"], "count"),
    ("sales_accepted_opportunities", "lagging",
     ["sales_accepted_opportunity"], "count"),
    ("deals", "lagging", ["deal_closed"], "count"),
    ("revenue", "lagging", ["deal_closed"], "amount"),
]
TYPE_WEIGHTS = [
    ("call", 36), ("email", 24), ("conversation", 12),
    ("meeting_scheduled", 7), ("meeting_held", 6), ("proposal_sent", 5),
    ("deal_closed", 5), ("sales_accepted_opportunity", 5),
]
UNMAPPED_TYPES = ["roi_discussion", "webinar_attended"]

CALENDARS = {
    "default": {"week_start": "mon", "fiscal_year_start": "jan"},
    "us": {"week_start": "sun", "fiscal_year_start": "feb"},
}
TEAMS = [
    # id, zone, calendar, manager
    ("east", "America/New_York", "us", "m-east"),
    ("emea", "Europe/Berlin", "default", "m-emea"),
    ("apac", "Asia/Kolkata", "default", "m-apac"),
    ("anz", "Australia/Sydney", "default", "m-anz"),
]
ROLES = {
    "sdr": {"calls": {"day": 50, "week": 250, "month": 1000},
            "emails": {"day": 20, "week": 100},
            "conversations": {"day": 8, "week": 40},
            "meetings_scheduled": {"week": 5, "month": 20},
            "sales_accepted_opportunities": {"month": 8}},
    "ae": {"calls": {"day": 20, "week": 100},
           "meetings_held": {"day": 2, "week": 10},
           "proposals": {"week": 3, "month": 12},
           "deals": {"month": 4, "quarter": 12},
           "revenue": {"month": 140000, "quarter": 420000}},
}
OTHER_OFFSETS = [dt.timedelta(hours=5, minutes=30), dt.timedelta(hours=-3),
                 dt.timedelta(hours=14), dt.timedelta(hours=-11),
                 dt.timedelta(hours=9, minutes=45), dt.timedelta(0)]


def parse_rfc3339(s):
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise SystemExit("--now needs an offset: " + s)
    return t.astimezone(UTC)


def fmt_offset(off):
    if off == dt.timedelta(0):
        return "Z"
    sign = "+" if off >= dt.timedelta(0) else "-"
    m = abs(int(off.total_seconds())) // 60
    return "%s%02d:%02d" % (sign, m // 60, m % 60)


def fmt_time(instant_us, off, digits):
    """instant_us: microseconds since the epoch (UTC)."""
    t = EPOCH + dt.timedelta(microseconds=instant_us)
    loc = t.astimezone(dt.timezone(off))
    s = loc.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 3:
        s += ".%03d" % (loc.microsecond // 1000)
    elif digits == 6:
        s += ".%06d" % loc.microsecond
    return s + fmt_offset(off)


def to_us(t):
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def from_us(us):
    return EPOCH + dt.timedelta(microseconds=us)


def bucket_start(period, d, cal):
    if period == "day":
        return d
    if period == "week":
        ws = WEEKDAYS.index(cal["week_start"])
        return d - dt.timedelta(days=(d.weekday() - ws) % 7)
    if period == "month":
        return d.replace(day=1)
    fs = MONTHS.index(cal["fiscal_year_start"]) + 1
    k = (d.month - fs) % 12
    sm = (fs - 1 + k - k % 3) % 12 + 1
    year = d.year if sm <= d.month else d.year - 1
    return dt.date(year, sm, 1)


def jstr(s, ascii_only=True):
    return json.dumps(s, ensure_ascii=ascii_only)


def encode(pairs, style):
    """pairs: [(name, raw json text)]; style picks the whitespace."""
    if style == 0:
        return "{" + ",".join("%s:%s" % (jstr(k), v) for k, v in pairs) + "}"
    if style == 1:
        return "{" + ", ".join("%s: %s" % (jstr(k), v) for k, v in pairs) + "}"
    if style == 2:
        return "{ " + " ,\t".join("%s :\t%s" % (jstr(k), v)
                                  for k, v in pairs) + " }"
    return "\t{" + ",  ".join("%s:  %s" % (jstr(k), v)
                              for k, v in pairs) + "}  "


class Gen:
    def __init__(self, args):
        self.rnd = random.Random(args.seed)
        self.seed = args.seed
        self.now = parse_rfc3339(args.now)
        self.now_us = to_us(self.now)
        self.days = args.days
        self.prefix = args.prefix
        self.shards = args.shards
        self.window = dt.timedelta(days=args.dedupe_window_days)
        self.zones = {t[0]: zoneinfo.ZoneInfo(t[1]) for t in TEAMS}
        self.team = {t[0]: t for t in TEAMS}
        self.type_kpis = {}
        for name, _kind, types, measure in KPIS:
            for ty in types:
                self.type_kpis.setdefault(ty, []).append((name, measure))
        self.make_roster()
        self.nid = 0

    def make_roster(self):
        first = ["ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hana",
                 "ivan", "jo", "kim", "lea", "mo", "nia", "omar", "pia",
                 "quinn", "ravi", "sue", "tom"]
        self.reps = []
        for i in range(40):
            style = i % 4
            if style == 0:
                rid = "r%03d" % (i + 1)
            elif style == 1:
                rid = "%s.%s@example.com" % (first[i % 20], "x%d" % i)
            elif style == 2:
                rid = "REP-%d_%s" % (i, first[(i * 7) % 20])
            else:
                rid = "%s-%02d.sales" % (first[(i * 3) % 20], i)
            team = TEAMS[i % 4][0]
            role = "sdr" if i % 3 else "ae"
            mgr = self.team[team][3] if i % 5 else "m-%s-lead" % team
            self.reps.append((rid, team, role, mgr))
        self.rep_team = {r[0]: r[1] for r in self.reps}

    def new_id(self):
        self.nid += 1
        b = self.rnd.getrandbits(128)
        h = "%032x" % b
        if self.nid % 3 == 0:
            return "evt-%d-%06d" % (self.seed, self.nid)
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    def pick_instant(self, team):
        """Microseconds since the epoch inside the window, before now."""
        lo = self.now_us - self.days * 86400 * 10**6
        hi = self.now_us - 60 * 10**6
        if self.rnd.random() < 0.08:
            zone = self.zones[team]
            for _ in range(20):
                us = self.rnd.randrange(lo, hi)
                d = from_us(us).astimezone(zone).date()
                d += dt.timedelta(days=self.rnd.choice((0, 1)))
                mid = dt.datetime(d.year, d.month, d.day, tzinfo=zone)
                mid_us = to_us(mid.astimezone(UTC))
                us = mid_us + self.rnd.randrange(-60 * 10**6, 60 * 10**6)
                if lo <= us < hi:
                    return us
        return self.rnd.randrange(lo, hi)

    def fmt_instant(self, us, team):
        r = self.rnd.random()
        t = from_us(us)
        if r < 0.5:
            off = dt.timedelta(0)
        elif r < 0.8:
            off = t.astimezone(self.zones[team]).utcoffset()
        else:
            off = self.rnd.choice(OTHER_OFFSETS)
        digits = self.rnd.choice((0, 0, 3, 6))
        if digits == 0:
            us -= us % 10**6
        elif digits == 3:
            us -= us % 1000
        return us, fmt_time(us, off, digits)

    def amount(self):
        if self.rnd.random() < 0.02:
            return decimal.Decimal("0.00")
        cents = self.rnd.randrange(10000, 5000000)
        return decimal.Decimal(cents).scaleb(-2)

    def amount_text(self, a):
        r = self.rnd.random()
        s = "%.2f" % a
        if r < 0.3 and s.endswith("0"):
            s = s.rstrip("0").rstrip(".")
        return s

    def good_event(self, rep, typ=None, event_id=None):
        rid, team = rep[0], rep[1]
        if typ is None:
            typ = self.weighted_type()
        us = self.pick_instant(team)
        us, occ = self.fmt_instant(us, team)
        ev = {"event_id": event_id or self.new_id(), "rep_id": rid,
              "type": typ, "us": us, "count": None, "amount": None,
              "extras": []}
        fields = [("event_id", jstr(ev["event_id"])), ("rep_id", jstr(rid)),
                  ("type", jstr(typ)), ("occurred_at", jstr(occ))]
        if typ == "deal_closed":
            ev["amount"] = self.amount()
            fields.append(("amount", self.amount_text(ev["amount"])))
        else:
            if self.rnd.random() < 0.25:
                ev["count"] = self.rnd.randint(1, 5)
                fields.append(("count", str(ev["count"])))
            if self.rnd.random() < 0.05:
                fields.append(("amount", self.amount_text(self.amount())))
        r = self.rnd.random()
        if r < 0.05:
            other = self.rnd.choice([t[0] for t in TEAMS if t[0] != team])
            fields.append(("team_id", jstr(other)))
        elif r < 0.15:
            fields.append(("team_id", jstr(team)))
            fields.append(("manager_id", jstr(rep[3])))
            fields.append(("role", jstr(rep[2])))
        r = self.rnd.random()
        if r < 0.05:
            fields.append(("note", jstr("caf\u00e9 \u2615 \u00fcber", False)))
        elif r < 0.08:
            fields.append(("meta", '{"crm":{"id":[1,2,{"x":null}]},"ok":true}'))
        elif r < 0.12:
            fields.append(("source", jstr("crm")))
        ev["fields"] = fields
        # Mostly the documented order, sometimes shuffled.
        pairs = list(fields)
        if self.rnd.random() < 0.1:
            self.rnd.shuffle(pairs)
        ev["value"] = encode(pairs, self.rnd.choice((0, 0, 0, 1))).encode()
        ev["key"] = rid.encode()
        return ev

    def near_dup(self, ev):
        """Same event, other bytes: field order, whitespace, offset."""
        team = self.rep_team[ev["rep_id"]]
        fields = []
        for k, v in ev["fields"]:
            if k == "occurred_at":
                us = ev["us"]
                digits = 6 if us % 1000 else (3 if us % 10**6 else 0)
                off = self.rnd.choice(OTHER_OFFSETS +
                                      [from_us(us).astimezone(
                                          self.zones[team]).utcoffset()])
                v = jstr(fmt_time(us, off, digits))
            elif k == "event_id" and "-" in ev["event_id"] and \
                    self.rnd.random() < 0.5:
                v = '"' + ev["event_id"].replace("-", "\\u002d", 1) + '"'
            fields.append((k, v))
        self.rnd.shuffle(fields)
        value = encode(fields, self.rnd.choice((1, 2, 3))).encode()
        if value == ev["value"]:
            value = b" " + value
        return {"key": ev["key"], "value": value}

    def weighted_type(self):
        total = sum(w for _, w in TYPE_WEIGHTS)
        x = self.rnd.randrange(total)
        for t, w in TYPE_WEIGHTS:
            if x < w:
                return t
            x -= w
        raise AssertionError

    def recent(self, hours=30):
        us = self.now_us - self.rnd.randrange(3600, hours * 3600) * 10**6
        return fmt_time(us - us % 10**6, dt.timedelta(0), 0)

    def bad_events(self):
        """Every bad event: (key, value bytes, reason)."""
        out = []
        rep = self.reps
        n = [0]

        def ok_fields(marker, rid=None):
            r = rid or self.rnd.choice(rep)[0]
            return [("event_id", jstr("bad-%s" % marker)),
                    ("rep_id", jstr(r)), ("type", jstr("call")),
                    ("occurred_at", jstr(self.recent()))]

        def add(reason, value, key=None):
            n[0] += 1
            if key is None:
                key = b"" if n[0] % 4 == 0 else self.rnd.choice(rep)[0].encode()
            if isinstance(value, str):
                value = value.encode()
            out.append((key, value, reason))

        def obj(marker, drop=(), put=(), extra=()):
            f = [p for p in ok_fields(marker) if p[0] not in drop]
            f = [(k, dict(put).get(k, v)) for k, v in f]
            f += [p for p in put if p[0] not in dict(f)]
            f += list(extra)
            return encode(f, 0)

        add("empty", b"")
        big = obj("too-large", extra=[("pad", jstr("p" * 70000))])
        add("too_large", big)
        for i, bad in enumerate((b"\xff\xfe", b"\xe2\x82", b"\xc0\xaf",
                                 b"\xed\xa0\x80", b"\xf5\x80\x80\x80")):
            v = obj("utf8-%d" % i, extra=[("note", '"@@"')]).encode()
            add("invalid_utf8", v.replace(b"@@", b"x" + bad + b"y"))
        add("invalid_json", obj("json-0")[:-7])
        add("invalid_json", obj("json-1")[:-1] + ",}")
        add("invalid_json", obj("json-2").replace('"', "'"))
        add("invalid_json", obj("json-3") + " trailing")
        add("invalid_json", obj("json-4").replace(",", " ", 1))
        deep = "[" * 40 + "1" + "]" * 40
        add("too_deep", obj("deep", extra=[("x", deep)]))
        add("not_object", '["bad-not-object-0"]')
        add("not_object", '"bad-not-object-1"')
        add("not_object", "731955")
        add("not_object", "null")
        add("nul_in_string", obj("nul-0", extra=[("note", '"a\\u0000b"')]))
        add("nul_in_string",
            obj("nul-1", put=[("event_id", '"bad-nul-1\\u0000x"')]))
        add("missing_event_id",
            obj("x", drop=("event_id",), extra=[("note", '"bad-noid-0"')]))
        add("bad_event_id", obj("x", put=[("event_id", jstr("e" * 129))]))
        add("bad_event_id", obj("x", put=[("event_id", '""')],
                                extra=[("note", '"bad-eid-1"')]))
        add("bad_event_id", obj("x", put=[("event_id", "4242")],
                                extra=[("note", '"bad-eid-2"')]))
        add("missing_rep_id", obj("norep-0", drop=("rep_id",)))
        add("bad_rep_id", obj("rep-0", put=[("rep_id", '"bad rep!"')]))
        add("bad_rep_id", obj("rep-1", put=[("rep_id", '""')]))
        add("bad_rep_id", obj("rep-2", put=[("rep_id", jstr("r" * 129))]))
        add("bad_rep_id", obj("rep-3", put=[("rep_id", '"r\\u00e9p"')]))
        add("bad_rep_id", obj("rep-4", put=[("rep_id", "17")]))
        add("missing_type", obj("notype-0", drop=("type",)))
        add("bad_type", obj("type-0", put=[("type", "42")]))
        add("bad_type", obj("type-1", put=[("type", '""')]))
        add("bad_type", obj("type-2", put=[("type", jstr("t" * 65))]))
        add("missing_occurred_at", obj("noat-0", drop=("occurred_at",)))
        for i, s in enumerate(('"2026-11-20T10:00:00"',
                               '"2026-13-01T10:00:00Z"',
                               '"2026-11-31T10:00:00Z"',
                               '"2026-11-20T25:00:00Z"',
                               '"2026-11-20T10:00:00+5:30"',
                               '"yesterday"', "1763630000")):
            add("bad_occurred_at", obj("at-%d" % i, put=[("occurred_at", s)]))
        for i, s in enumerate(("0", "10001", "1.5", '"3"', "-2", "true")):
            add("bad_count", obj("count-%d" % i, extra=[("count", s)]))
        for i, s in enumerate(("-1", '"12"', "-0.01", "1000000000000000.5",
                               "1e308")):
            f = ok_fields("amount-%d" % i)
            f[2] = ("type", jstr("deal_closed"))
            add("bad_amount", encode(f + [("amount", s)], 0))
        add("bad_hint", obj("hint-0", extra=[("team_id", "5")]))
        add("bad_hint", obj("hint-1", extra=[("manager_id", '""')]))
        add("bad_hint", obj("hint-2", extra=[("role", '["sdr"]')]))
        old = to_us(self.now - dt.timedelta(days=40))
        add("too_old", obj("old-0", put=[
            ("occurred_at", jstr(fmt_time(old, dt.timedelta(0), 0)))]))
        old = to_us(self.now - self.window - dt.timedelta(days=2))
        add("too_old", obj("old-1", put=[
            ("occurred_at", jstr(fmt_time(old, dt.timedelta(hours=-5), 3)))]))
        fut = to_us(self.now + dt.timedelta(days=2))
        add("too_far_in_future", obj("future-0", put=[
            ("occurred_at", jstr(fmt_time(fut, dt.timedelta(0), 0)))]))
        fut = to_us(self.now + dt.timedelta(days=3, hours=5))
        add("too_far_in_future", obj("future-1", put=[
            ("occurred_at", jstr(fmt_time(fut, dt.timedelta(hours=2), 0)))]))
        return out

    def run(self, nevents):
        rnd = self.rnd
        bad = self.bad_events()
        n_dup = nevents * 3 // 100
        n_near = nevents // 100
        n_ur = nevents // 100
        n_ut = nevents // 100
        n_cross = min(20, nevents // 200)
        n_good = nevents - len(bad) - n_dup - n_near - n_ur - n_ut - n_cross
        if n_good < 100:
            raise SystemExit("--events too small")

        items = []	# [sort key, kind, payload]
        goods = []
        for _ in range(n_good):
            ev = self.good_event(rnd.choice(self.reps))
            goods.append(ev)
        for i in range(n_cross):
            src = goods[i * 7]
            other = rnd.choice([r for r in self.reps if r[0] != src["rep_id"]])
            goods.append(self.good_event(other, event_id=src["event_id"]))
        base = [("good", ev) for ev in goods]
        for i in range(n_ur):
            ghost = ("ghost-%03d" % rnd.randrange(1000), "east", "sdr", "m")
            self.rep_team[ghost[0]] = "east"
            ev = self.good_event(ghost)
            base.append(("unknown_rep", ev))
        for i in range(n_ut):
            ev = self.good_event(rnd.choice(self.reps),
                                 typ=rnd.choice(UNMAPPED_TYPES))
            base.append(("unknown_type", ev))
        for key, value, reason in bad:
            base.append(("bad", {"key": key, "value": value,
                                 "reason": reason}))
        rnd.shuffle(base)
        nb = len(base)
        for i, (kind, p) in enumerate(base):
            items.append((float(i), kind, p))
            p["pos"] = float(i)
        good_pos = [p for kind, p in base if kind == "good"]
        for i in range(n_dup):
            src = rnd.choice(good_pos)
            if rnd.random() < 0.33:
                pos = rnd.uniform(src["pos"] + (nb - src["pos"]) / 2, nb)
            else:
                pos = rnd.uniform(src["pos"], min(nb, src["pos"] + 200))
            items.append((pos, "dup", {"key": src["key"],
                                       "value": src["value"]}))
        for i in range(n_near):
            src = rnd.choice(good_pos)
            pos = rnd.uniform(src["pos"], nb)
            items.append((pos, "dup", self.near_dup(src)))
        items.sort(key=lambda x: x[0])

        # The oracle.
        counters = {}
        seen = set()
        totals = {"counted": 0, "duplicate": 0, "bad": 0,
                  "skipped": {"unknown_rep": 0, "unknown_type": 0},
                  "bad_by_reason": {}}
        repday = {}
        counted_out = []
        bad_out = []
        ghost_out = []
        lines = []
        for _pos, kind, p in items:
            lines.append(p["key"] + b"\t" + p["value"] + b"\n")
            if kind == "bad":
                totals["bad"] += 1
                br = totals["bad_by_reason"]
                br[p["reason"]] = br.get(p["reason"], 0) + 1
                bad_out.append({"key": p["key"].decode("latin-1"),
                                "value_b64": base64.b64encode(
                                    p["value"]).decode(),
                                "reason": p["reason"]})
            elif kind in ("unknown_rep", "unknown_type"):
                totals["skipped"][kind] += 1
                if kind == "unknown_rep":
                    ghost_out.append({"key": p["key"].decode("latin-1"),
                                      "value_b64": base64.b64encode(
                                          p["value"]).decode()})
            elif kind == "dup":
                totals["duplicate"] += 1
            else:
                k = (p["rep_id"], p["event_id"])
                assert k not in seen
                seen.add(k)
                totals["counted"] += 1
                self.apply(counters, repday, p)
                counted_out.append(self.counted_record(p))
        for ln in lines:
            assert b"\n" not in ln[:-1] and b"\r" not in ln
        values = [b["value_b64"] for b in bad_out]
        assert len(set(values)) == len(values), "bad events must differ"
        probe = self.probe(repday, counters)
        self.unknown_rep_out = ghost_out
        self.counted_out = counted_out
        return lines, counters, bad_out, totals, probe

    def counted_record(self, ev):
        rid = ev["rep_id"]
        team = self.rep_team[rid]
        cal = CALENDARS[self.team[team][2]]
        local = from_us(ev["us"]).astimezone(self.zones[team]).date()
        return {"rep": rid, "id": ev["event_id"], "type": ev["type"],
                "team": team,
                "kpis": [k for k, _m in self.type_kpis[ev["type"]]],
                "buckets": {p: bucket_start(p, local, cal).isoformat()
                            for p in PERIODS}}

    def apply(self, counters, repday, ev):
        rid = ev["rep_id"]
        team = self.rep_team[rid]
        cal = CALENDARS[self.team[team][2]]
        local = from_us(ev["us"]).astimezone(self.zones[team]).date()
        repday[(rid, local)] = repday.get((rid, local), 0) + 1
        for kpi, measure in self.type_kpis[ev["type"]]:
            if measure == "amount":
                inc = ev["amount"]
            else:
                inc = ev["count"] if ev["count"] is not None else 1
            shard = self.shard_of(rid)
            for period in PERIODS:
                label = bucket_start(period, local, cal).isoformat()
                for what, owner in (("cnt", rid), ("team", team)):
                    key = "%s:{s:%d}:%s:%s:%s" % (self.prefix, shard, what,
                                                  period, label)
                    h = counters.setdefault(key, {})
                    f = "%s|%s" % (owner, kpi)
                    h[f] = h.get(f, 0) + inc

    def shard_of(self, rid):
        h = 0xcbf29ce484222325
        for b in rid.encode():
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        return h % self.shards

    def probe(self, repday, counters):
        # A rep id with '@', so the endpoint sees it raw and percent-encoded.
        pool = [kv for kv in repday.items() if "@" in kv[0][0]] or \
            list(repday.items())
        (rid, day), _n = max(pool, key=lambda kv: (kv[1], kv[0]))
        team = self.rep_team[rid]
        zone = self.zones[team]
        noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        at = min(noon.astimezone(UTC), self.now - dt.timedelta(seconds=30))
        key = "%s:{s:%d}:cnt:day:%s" % (self.prefix, self.shard_of(rid),
                                        day.isoformat())
        h = counters[key]
        return {"rep": rid, "team": team, "period": "day",
                "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "date": day.isoformat(),
                "actual": {k[0]: number(h.get("%s|%s" % (rid, k[0]), 0))
                           for k in KPIS}}

    def org_yaml(self):
        out = ["# Generated by tests/tools/gen_stream.py --seed %d" % self.seed,
               "kpis:"]
        for name, kind, types, measure in KPIS:
            s = "  - {name: %s, kind: %s, events: [%s]" % (
                name, kind, ", ".join(types))
            if measure != "count":
                s += ", measure: %s" % measure
            out.append(s + "}")
        out.append("calendars:")
        for name, c in CALENDARS.items():
            out += ["  %s:" % name,
                    "    working_days: [mon, tue, wed, thu, fri]",
                    '    working_hours: "09:00-17:00"',
                    "    week_start: %s" % c["week_start"],
                    "    fiscal_year_start: %s" % c["fiscal_year_start"],
                    '    holidays: ["2026-12-25", "2027-01-01"]']
        out.append("roles:")
        for role, targets in ROLES.items():
            out += ["  %s:" % role, "    targets:"]
            for kpi, per in targets.items():
                out.append("      %s: {%s}" % (kpi, ", ".join(
                    "%s: %s" % kv for kv in per.items())))
        out.append("teams:")
        for tid, zone, cal, mgr in TEAMS:
            out.append('  - {id: "%s", timezone: "%s", calendar: %s, '
                       'manager: "%s"}' % (tid, zone, cal, mgr))
        out.append("reps:")
        for rid, team, role, mgr in self.reps:
            out.append('  - {id: "%s", team: "%s", role: %s, manager: "%s"}'
                       % (rid, team, role, mgr))
        return "\n".join(out) + "\n"


def number(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--now", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--days", type=int, default=24)
    ap.add_argument("--prefix", default="paced")
    ap.add_argument("--shards", type=int, default=32)
    ap.add_argument("--dedupe-window-days", type=int, default=35)
    args = ap.parse_args()
    if args.days >= args.dedupe_window_days:
        raise SystemExit("--days must be below the dedupe window")

    g = Gen(args)
    lines, counters, bad, totals, probe = g.run(args.events)
    os.makedirs(args.out, exist_ok=True)

    def write(name, data, mode="wb"):
        tmp = os.path.join(args.out, name + ".tmp")
        with open(tmp, mode) as f:
            f.write(data)
        os.rename(tmp, os.path.join(args.out, name))

    write("org.yaml", g.org_yaml(), "w")
    write("stream.tsv", b"".join(lines))
    exp = {"now": g.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "prefix": args.prefix,
           "activity_messages": len(lines),
           "counters": {k: {f: number(v) for f, v in sorted(h.items())}
                        for k, h in sorted(counters.items())},
           "bad": bad, "unknown_rep": g.unknown_rep_out, "totals": totals,
           "counted_events": g.counted_out,
           "probe": probe}
    write("expected.json", json.dumps(exp, indent=1, sort_keys=True), "w")
    print("%d messages: %d counted, %d duplicate, %d bad, %d unknown_rep, "
          "%d unknown_type, %d counter keys" % (
              len(lines), totals["counted"], totals["duplicate"],
              totals["bad"], totals["skipped"]["unknown_rep"],
              totals["skipped"]["unknown_type"], len(counters)))


if __name__ == "__main__":
    sys.exit(main())

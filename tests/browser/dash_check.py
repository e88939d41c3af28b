#!/usr/bin/env python3
"""The dashboard in a real browser, against a running paced.

Run by tests/integration/test_dashboard.c once the stack is up; usable by
hand against `make run` too. Steps, each bounded in time:

1. HTTP: / and /assets/* answer with their content type, an ETag (304 on
   If-None-Match), Cache-Control and a self-only Content-Security-Policy.
2. Headless Chromium (1440x900) loads URL. With --token, the page must
   ask for the token (the API answers 401 without it); the token is typed
   into the dialog and the page goes on with it.
3. The leaderboard shows the reps in the order --first; the rep
   scorecards and the live indicator are there; with --contest, the
   contests panel shows that running contest, --contest-leader first. With --expect-stream, the
   page must be reading the change stream (/v1/stream).
4. READY_FILE is written: the caller now produces events that change the
   ranks. The board must show the order --then without a reload (a marker
   set in the page before must still be there), within --timeout; with
   --expect-stream, the stream still open (without new events the page
   reads again only every 30 s: the change came by the stream).
5. Screenshots into --out: dashboard.png (laptop, the whole page) and
   dashboard-tv.png (TV mode, 1920x1080: larger type, rotation bar).
6. No JavaScript exception, console error or error log entry (a refused
   Content-Security-Policy, a failed request) except the expected ones:
   404 for /v1/contests and /v1/stream (not served by every version) and
   the 401 that made the page ask for the token.

Prints one line per step; exits 0 when all pass, 1 otherwise.
"""

import argparse
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

ROWS = ("[...document.querySelectorAll('#board tbody tr')]"
        ".map(r => r.dataset.rep).join(',')")


def say(msg):
    print(f"dash_check: {msg}", flush=True)


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def check_http(base, token):
    bad = []
    want = {"/": "text/html", "/assets/app.js": "text/javascript",
            "/assets/style.css": "text/css",
            "/assets/favicon.svg": "image/svg+xml"}
    for path, ctype in want.items():
        status, h, body = get(base + path)
        if status != 200:
            bad.append(f"{path}: {status}")
            continue
        if not h.get("Content-Type", "").startswith(ctype):
            bad.append(f"{path}: Content-Type {h.get('Content-Type')}")
        csp = h.get("Content-Security-Policy", "")
        if "default-src 'none'" not in csp or "script-src 'self'" not in csp \
                or "unsafe" in csp or "http" in csp:
            bad.append(f"{path}: Content-Security-Policy {csp!r}")
        if h.get("Cache-Control") != "no-cache":
            bad.append(f"{path}: Cache-Control {h.get('Cache-Control')}")
        etag = h.get("ETag", "")
        if not etag.startswith('"'):
            bad.append(f"{path}: ETag {etag!r}")
        else:
            status2, _, body2 = get(base + path, {"If-None-Match": etag})
            if status2 != 304 or body2:
                bad.append(f"{path}: If-None-Match: {status2}")
        if not body:
            bad.append(f"{path}: empty")
    _, _, body = get(base + "/")
    page = body.decode("utf-8", "replace")
    if "<script>" in page or " onclick=" in page or "http://" in page \
            or "https://" in page:
        bad.append("/: inline script, handler or external address")
    if get(base + "/assets/nope.js")[0] != 404:
        bad.append("/assets/nope.js: not 404")
    if token:
        if get(base + "/v1/org")[0] != 401:
            bad.append("/v1/org without the token: not 401")
        status, _, _ = get(base + "/v1/org",
                           {"Authorization": "Bearer " + token})
        if status != 200:
            bad.append(f"/v1/org with the token: {status}")
    return bad


def expected_problem(kind, text, url, before_token):
    """The errors a correct page still logs: a route this daemon does not
    serve (yet), and the refused request that made it ask for a token."""
    if kind != "network":
        return False
    path = "/" + url.split("//", 1)[-1].partition("/")[2].split("?")[0]
    if path in ("/v1/contests", "/v1/stream") and "404" in text:
        return True
    return before_token and "401" in text


def run_page(b, args, failures):
    """Steps 2 to 5; returns the index in b.events where the token was
    given (None without a token)."""
    token_at = None
    b.navigate(args.url)
    if args.token:
        b.wait_for("document.getElementById('token-dialog').open",
                   args.timeout, "the token dialog")
        token_at = len(b.events)
        b.evaluate("(() => { document.getElementById('token-input')"
                   f".value = {args.token!r}; document.getElementById("
                   "'token-form').requestSubmit(); return true; })()")
        say("token asked for and given")
    got = b.wait_for(f"{ROWS} === {args.first!r} && {ROWS}",
                     args.timeout, f"the board {args.first}")
    say(f"board: {got}")
    cards = b.wait_for("document.querySelectorAll('#reps .card').length",
                       args.timeout, "the rep scorecards")
    bars = b.evaluate("document.querySelectorAll('#reps .pace').length")
    live = b.evaluate("document.getElementById('live-text').textContent")
    say(f"{cards} scorecards, {bars} pace bars; live: {live}")
    if args.contest:
        # GET /v1/contests, then the running contest's leaders.
        js = ("(() => { const c = [...document.querySelectorAll("
              "'#contests .contest')].find(x => x.querySelector("
              f"'.contest-name').textContent === {args.contest!r}); "
              "const li = c && c.querySelector('.contest-leaders li'); "
              "return li ? li.textContent : null; })()")
        got = b.wait_for(js, args.timeout, f"the contest {args.contest}")
        say(f"contest {args.contest}: leader {got}")
        if not got.startswith(f"#1 {args.contest_leader} "):
            failures.append(f"contest leader {got!r}, want "
                            f"{args.contest_leader}")
    if args.token and b.evaluate(
            "sessionStorage.getItem('paced.token')") != args.token:
        failures.append("the token is not in session storage")
    if args.expect_stream:
        # The page reads everything again every 30 s even with the stream
        # up, and polls only without it: with the stream up before and
        # after, a new order within --timeout (< 30 s) came by the stream.
        b.wait_for("document.getElementById('live').classList.contains('up')",
                   args.timeout, "the change stream (live)")
        say("change stream open")
    b.evaluate("window.__pacedNoReload = 1")
    b.screenshot(os.path.join(args.out, "dashboard-before.png"))
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    t0 = time.time()
    got = b.wait_for(f"{ROWS} === {args.then!r} && {ROWS}",
                     args.timeout, f"the board {args.then}")
    say(f"board after the events: {got} ({time.time() - t0:.1f} s)")
    if args.expect_stream and not b.evaluate(
            "document.getElementById('live').classList.contains('up')"):
        failures.append("the change stream closed")
    if b.evaluate("window.__pacedNoReload") != 1:
        failures.append("the page was reloaded")
    moved = b.evaluate("[...document.querySelectorAll('#board tbody "
                       "tr.moved-up')].map(r => r.dataset.rep).join(',')")
    say(f"marked as moved up: {moved or 'none'}")
    if not moved:
        failures.append("no row marked as moved up")
    time.sleep(0.8)         # the bars' transition
    b.screenshot(os.path.join(args.out, "dashboard.png"), full_page=True)

    base_px = b.evaluate("parseFloat(getComputedStyle("
                         "document.documentElement).fontSize)")
    b.viewport(1920, 1080)
    b.evaluate("document.getElementById('tv-toggle').click(), true")
    b.wait_for("document.body.classList.contains('tv') && "
               "!document.getElementById('rotate').hidden && "
               "document.querySelectorAll('#board tbody tr').length",
               args.timeout, "TV mode")
    tv_px = b.evaluate("parseFloat(getComputedStyle("
                       "document.documentElement).fontSize)")
    say(f"TV mode: root font {base_px:g}px -> {tv_px:g}px")
    if not tv_px > base_px:
        failures.append("TV mode type is not larger")
    if "tv=1" not in b.evaluate("location.search"):
        failures.append("TV mode is not in the address")
    time.sleep(1.0)
    b.screenshot(os.path.join(args.out, "dashboard-tv.png"))
    say(f"screenshots in {args.out}")
    return token_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="the page, with its query")
    ap.add_argument("--first", required=True, help="reps in order: a,b,c")
    ap.add_argument("--then", required=True, help="the order after events")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--out", required=True, help="folder for screenshots")
    ap.add_argument("--token")
    ap.add_argument("--contest", help="a running contest's name the "
                    "contests panel must show")
    ap.add_argument("--contest-leader", default="",
                    help="the rep that panel shows first")
    ap.add_argument("--timeout", type=float, default=20,
                    help="seconds for each wait; under 30 with "
                    "--expect-stream")
    ap.add_argument("--expect-stream", action="store_true",
                    help="the page must be on /v1/stream, and the new "
                    "order must come by it")
    args = ap.parse_args()

    base = args.url.split("/?")[0].rstrip("/")
    failures = check_http(base, args.token)
    if not failures:
        say("http: content types, ETag and 304, CSP: ok")

    b = Browser(os.path.join(args.out, "chromium.log"), 1440, 900)
    token_at = None
    try:
        token_at = run_page(b, args, failures)
    except (TimeoutError, RuntimeError, OSError) as e:
        failures.append(str(e))
        token_at = token_at if token_at is not None else len(b.events)
        try:
            path = os.path.join(args.out, "dashboard-failed.png")
            b.screenshot(path, full_page=True)
            say(f"screenshot of the failure: {path}")
        except (TimeoutError, RuntimeError, OSError):
            pass
    finally:
        problems = b.problems()
        b.close()
    for i, kind, text, url in problems:
        before_token = token_at is not None and i < token_at
        if expected_problem(kind, text, url, before_token):
            say(f"expected: {kind}: {text} {url}")
            continue
        failures.append(f"page error: {kind}: {text} {url}")
    for f in failures:
        say(f"FAIL {f}")
    say("ok" if not failures else f"{len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

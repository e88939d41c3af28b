#!/usr/bin/env python3
"""A webhook receiver over TLS for the tests, with the certificate given.

Modes:
  answer  (default) each POST is appended to --out as one JSON line
          {"path", "authorization", "body"} and answered 200 "ok";
  silent  every connection is accepted and never read nor answered: no TLS
          handshake, no HTTP (a receiver that hangs).

Writes "listening <port>" to stdout once bound. Standard library only.
"""

import argparse
import http.server
import json
import socket
import ssl
import sys
import threading
import time


def serve_answer(args):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            rec = {"path": self.path,
                   "authorization": self.headers.get("Authorization"),
                   "body": body}
            with lock, open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, fmt, *a):
            sys.stderr.write("tls_receiver: " + (fmt % a) + "\n")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening %d" % args.port, flush=True)
    srv.serve_forever()


def serve_silent(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    print("listening %d" % args.port, flush=True)
    held = []
    while True:
        c, _ = ls.accept()
        held.append(c)          # kept open, never read
        time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--out")
    ap.add_argument("--mode", choices=["answer", "silent"], default="answer")
    args = ap.parse_args()
    if args.mode == "silent":
        serve_silent(args)
    else:
        serve_answer(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A tiny HTTP service for the sidecar tests and the rolling-restart demo.

GET /health answers 200, or 503 while the file named by --unhealthy-if exists (so a test can make the
service sick and well again by creating and deleting a file). Any other GET answers 200 with the
instance name. On SIGTERM (or SIGINT) it appends "SIGTERM <unix time>" to --events, stops accepting,
lets requests in flight finish, and exits with --term-exit.
"""
import argparse
import http.server
import os
import signal
import sys
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--name", default="instance")
    parser.add_argument("--unhealthy-if", default=None, help="/health answers 503 while this file exists")
    parser.add_argument("--events", default=None, help="file to append signal times to")
    parser.add_argument("--term-exit", type=int, default=0, help="exit status after SIGTERM")
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/health" and args.unhealthy_if and os.path.exists(args.unhealthy_if):
                status, body = 503, b"unhealthy\n"
            else:
                status, body = 200, (args.name + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = False  # server_close waits for requests in flight

    def stop(signum, _frame):
        if args.events:
            with open(args.events, "a") as events:
                events.write(f"{signal.Signals(signum).name} {time.time():.3f}\n")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    sys.exit(args.term_exit)


if __name__ == "__main__":
    main()

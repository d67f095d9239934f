#!/usr/bin/python3
"""Chain recorder simulator: the HTTP endpoint that batches are submitted to.

Every POST to the record port (any path) is answered according to the current
mode and, when accepted, kept in arrival order: in memory and, with --jsonl,
one JSON object a line
    {"seq", "time", "path", "idempotency_key", "headers", "body"}
where body is the parsed JSON (or {"_raw": text} when it is not JSON).

Modes (set at start with --mode, or at run time through the control port):
  up       200 {"status":"ok","seq":N}
  503      503, nothing kept (the recorder is overloaded)
  500      500, nothing kept
  refuse   the record port is closed: connections are refused
  hang     the request is read and not answered until the mode changes (or 60 s pass), then
           answered 503 without keeping it
--fail-first N answers 503 to the first N POSTs even in mode up.

Control API on --control-port (127.0.0.1):
  GET  /status                  {"mode","count","attempts","refused_attempts","record_port","attempt_times"}
  GET  /records?since=N         {"records":[...]} from seq N (0-based)
  POST /mode {"mode":"up"}      change mode
  POST /clear                   forget what was recorded
When ready it prints: READY record_port=<p> control_port=<p>
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse

from json_http import serve_json


class Recorder:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.mode_changed = threading.Condition(self.lock)
        self.records = []
        self.attempts = 0
        self.attempt_times = []    # wall-clock time of every POST, answered or not
        self.refused_attempts = 0
        self.fail_first = args.fail_first
        self.mode = args.mode
        self.record_port = args.port
        self.record_server = None
        self.jsonl = open(args.jsonl, "a") if args.jsonl else None

    # --- record port -----------------------------------------------------------
    def record(self, handler, body_bytes):
        with self.lock:
            self.attempts += 1
            self.attempt_times.append(time.time())
            deadline = time.monotonic() + 60
            hung = False
            while self.mode == "hang" and time.monotonic() < deadline:
                hung = True
                self.mode_changed.wait(1)
            if hung:  # its sender has given up on it by now: answer, but keep nothing
                self.refused_attempts += 1
                return 503, {"error": "hung"}
            if self.fail_first > 0:
                self.fail_first -= 1
                self.refused_attempts += 1
                return 503, {"error": "fail-first"}
            if self.mode in ("503", "500"):
                self.refused_attempts += 1
                return int(self.mode), {"error": f"mode {self.mode}"}
            if self.mode == "refuse":  # a request that slipped in before the port closed
                self.refused_attempts += 1
                return 503, {"error": "refusing"}
            try:
                body = json.loads(body_bytes)
            except ValueError:
                body = {"_raw": body_bytes.decode(errors="replace")}
            entry = {
                "seq": len(self.records),
                "time": time.time(),
                "path": handler.path,
                "idempotency_key": handler.headers.get("Idempotency-Key"),
                "content_type": handler.headers.get("Content-Type"),
                "body": body,
            }
            self.records.append(entry)
            if self.jsonl:
                self.jsonl.write(json.dumps(entry) + "\n")
                self.jsonl.flush()
            return 200, {"status": "ok", "seq": entry["seq"]}

    def open_record_port(self):
        server = serve_json(self.args.host, self.record_port, lambda request, method, body: self.record(request, body),
                            methods=("POST", "PUT"))
        self.record_port = server.server_address[1]
        self.record_server = server

    def close_record_port(self):
        server, self.record_server = self.record_server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def set_mode(self, mode):
        if mode not in ("up", "503", "500", "refuse", "hang"):
            raise ValueError(f"unknown mode {mode!r}")
        with self.lock:
            self.mode = mode
            self.mode_changed.notify_all()
        if mode == "refuse":
            self.close_record_port()
        elif self.record_server is None:
            self.open_record_port()

    # --- control port ----------------------------------------------------------
    def control(self, method, path, body):
        parsed = urllib.parse.urlparse(path)
        query = urllib.parse.parse_qs(parsed.query)
        if method == "GET" and parsed.path == "/status":
            with self.lock:
                return 200, {"mode": self.mode, "count": len(self.records), "attempts": self.attempts,
                             "refused_attempts": self.refused_attempts, "record_port": self.record_port,
                             "attempt_times": self.attempt_times}
        if method == "GET" and parsed.path == "/records":
            since = int(query.get("since", ["0"])[0])
            with self.lock:
                return 200, {"records": self.records[since:]}
        if method == "POST" and parsed.path == "/mode":
            self.set_mode(body.get("mode", "up"))
            return 200, {"mode": self.mode}
        if method == "POST" and parsed.path == "/clear":
            with self.lock:
                self.records = []
            return 200, {"count": 0}
        return 404, {"error": "unknown route"}

    def open_control_port(self):
        server = serve_json(self.args.host, self.args.control_port,
                            lambda request, method, body: self.control(method, request.path, json.loads(body) if body else {}))
        return server.server_address[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="record port (0: pick a free one, printed in READY)")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--mode", default="up", choices=["up", "503", "500", "refuse", "hang"])
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--jsonl", default="", help="append every accepted record to this file")
    args = p.parse_args(argv if argv is not None else sys.argv[1:])
    recorder = Recorder(args)
    recorder.open_record_port()  # bind even in mode refuse, to learn the port
    if args.mode == "refuse":
        recorder.close_record_port()
    control_port = recorder.open_control_port()
    print(f"READY record_port={recorder.record_port} control_port={control_port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

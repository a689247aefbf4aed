#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an S3 store, for tests.

  s3_fault_proxy.py --upstream HOST:PORT --port-file FILE --stats-file FILE
                    [--faults 503:N,reset:N,truncate:N,flip:N,slow:N] [--every K] [--match GET-range]
                    [--path-contains TEXT] [--slow-seconds S] [--max-seconds T]

Requests are forwarded as they are (the Host header too, so SigV4 signatures still verify).
Every K-th matching request (default: GETs with a Range header; with --path-contains, only
requests whose path holds TEXT) gets the next fault of the
list, in turn, until each kind's count is used up:
  503       answered "503 SlowDown" without reaching the store
  reset     the connection closed with a TCP reset before any answer
  truncate  the answer's headers in full, then half its body, then the connection closed
  flip      the answer with one bit flipped in the middle of its body
  slow      the answer after S seconds (default 1)
Bounded: at most the given counts, and the proxy exits after T seconds (default 600).
The counts injected so far are in the stats file as JSON, rewritten after each fault.
"""
import argparse, http.client, json, os, socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--upstream", required=True)
p.add_argument("--port-file", required=True)
p.add_argument("--stats-file", required=True)
p.add_argument("--faults", default="")
p.add_argument("--every", type=int, default=3)
p.add_argument("--match", default="GET-range", choices=["GET-range", "GET", "PUT", "any"])
p.add_argument("--path-contains", default="")
p.add_argument("--slow-seconds", type=float, default=1.0)
p.add_argument("--max-seconds", type=float, default=600)
args = p.parse_args()
up_host, up_port = args.upstream.rsplit(":", 1)
budget = {}
for item in filter(None, args.faults.split(",")):
    kind, n = item.split(":")
    assert kind in ("503", "reset", "truncate", "flip", "slow"), kind
    budget[kind] = int(n)
order = list(budget)
injected = {k: 0 for k in order}
lock = threading.Lock()
state = {"matching": 0, "turn": 0, "requests": 0}


def next_fault(method, path, headers):
    with lock:
        state["requests"] += 1
        m = args.match
        if not (m == "any" or method == m.split("-")[0] and (m != "GET-range" or "range" in headers)):
            return None
        if args.path_contains and args.path_contains not in path:
            return None
        state["matching"] += 1
        if state["matching"] % args.every != 0:
            return None
        for _ in range(len(order)):
            kind = order[state["turn"] % len(order)]
            state["turn"] += 1
            if injected[kind] < budget[kind]:
                injected[kind] += 1
                tmp = args.stats_file + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(dict(injected, requests=state["requests"]), f)
                os.replace(tmp, args.stats_file)
                return kind
        return None


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def relay(self):
        n = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items()}
        fault = next_fault(self.command, self.path, {k.lower() for k in hdrs})
        if fault == "503":
            doc = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>injected</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)
            return
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault == "slow":
            time.sleep(args.slow_seconds)
        c = http.client.HTTPConnection(up_host, int(up_port), timeout=120)
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        c.close()
        if fault == "flip" and data:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x10
            data = bytes(b)
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        # A HEAD's length is the object's, not its (empty) body's.
        self.send_header("Content-Length", r.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay


server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(args.port_file + ".tmp", args.port_file)
with open(args.stats_file, "w") as f:
    json.dump(dict(injected, requests=0), f)
threading.Timer(args.max_seconds, lambda: os._exit(0)).start()
server.serve_forever()

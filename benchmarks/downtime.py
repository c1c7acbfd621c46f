"""Downtime of a release, seen by users through the gateway (make downtime).

Against the running testbed (make testbed-up), on the staging host only: its
gateway (Traefik, the deploy repo's ``gateways`` service, which the first
deploy starts) routes to the services, and each row runs one release while a
bounded load generator sends GET requests through that gateway. The rows run
twice: in the testbed's shape (the real one: services expose their port, each
switch is start-first), then with every service publishing a host port (a
commit to the origin, reverted at the end: each switch is stop-first):

* ``single-service deploy``: ``deploy.yml -l staging -e service=core -e version=V``;
* ``all-services deploy``: ``deploy.yml -l staging``, every service changes
  (requests go round-robin to the four services' paths);
* ``rollback``: ``rollback.yml -l staging -e service=core`` (back to 1.5.0);
* ``never healthy``: a deploy of a core that never turns healthy, restored
  by the release itself (the playbook fails, as it must);
* ``slow boot``: a deploy of a core that boots 5 s late (``START_DELAY=5``).

The load: loopback addresses only, a fixed rate (50 requests/s), at most
RATE * MAX_SECONDS requests and MAX_SECONDS seconds per row; it starts one
second before the release and stops one second after it (or at its bounds).
A request fails on a non-2xx answer or a connection error (2 s timeout). The
longest gap is the longest time between two successful requests (from the
load's start to its end, so an outage at either edge counts).

Prints one table. Versions are published per run (``1.5.1-bench.N``...,
never ``latest``), so runs do not collide with each other's bad marks.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from _testbed import ADDR, playbook, ports_origin, publish, revert_origin, sh

RATE = 50
MAX_SECONDS = 120
GATEWAY = "http://%s:18088" % ADDR
PATHS = {"core": "/api/core/healthcheck", "events": "/api/events/healthcheck",
         "mailer": "/api/mailer/healthcheck", "frontend": "/healthcheck"}


class Load:
    """GET ``urls`` round-robin at ``rate`` per second, at most ``max_requests`` and ``max_seconds``; loopback only."""

    def __init__(self, urls, rate=RATE, max_seconds=MAX_SECONDS):
        for url in urls:
            host = urllib.parse.urlsplit(url).hostname
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError("the load generator only sends to loopback addresses, not %s" % host)
        self.urls, self.rate, self.max_seconds = list(urls), rate, max_seconds
        self.max_requests = int(rate * max_seconds)
        self.results = []  # (start, ok)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = self.ended = None

    def _get(self, url):
        start = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only (checked)
                resp.read()
                ok = 200 <= resp.status < 300
        except OSError:  # connection errors, timeouts and non-2xx answers (HTTPError)
            ok = False
        with self._lock:
            self.results.append((start, ok))

    def _run(self):
        self.started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2 * self.rate) as pool:
            for i in range(self.max_requests):
                due = self.started + i / self.rate
                if self._stop.is_set() or due - self.started > self.max_seconds:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                pool.submit(self._get, self.urls[i % len(self.urls)])
        self.ended = time.monotonic()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        results = sorted(self.results)
        failed = sum(1 for _start, ok in results if not ok)
        edges = [self.started] + [start for start, ok in results if ok] + [self.ended]
        gap = max(b - a for a, b in zip(edges, edges[1:]))
        return len(results), failed, gap


def measure(name, cmd, urls, expect_failure=False):
    """One row: the load through the gateway around one release."""
    with Load(urls) as load:
        time.sleep(1)
        start = time.monotonic()
        proc = sh(cmd, check=False)
        seconds = time.monotonic() - start
        time.sleep(1)
    if (proc.returncode != 0) != expect_failure:
        expected = "a failure" if expect_failure else "success"
        sys.exit("%s: %s exited %d (expected %s)\n%s"
                 % (name, " ".join(cmd), proc.returncode, expected, (proc.stdout + proc.stderr)[-3000:]))
    requests, failed, gap = load.summary()
    return {"row": name, "requests": requests, "failed": failed, "gap": gap, "release": seconds,
            "rate": requests / (load.ended - load.started)}


def deploy(*args):
    return ["ansible-playbook", "playbooks/deploy.yml", "-l", "staging", *args]


def versions(run, label):
    """Core versions of one set of rows, published now: (good, never healthy, slow boot), unique to this run."""
    good, never, slow = ("1.5.%d-bench.%d.%s" % (n, run, label) for n in (1, 2, 3))
    print("publishing core %s, %s (never healthy), %s (boots in 5 s) ..." % (good, never, slow), flush=True)
    publish("core", good)
    publish("core", never, NEVER_HEALTHY="1")
    publish("core", slow, START_DELAY="5")
    return good, never, slow


def main():
    run = int(time.time()) % 100000
    # staging at 1.4.2 everywhere, its gateway running (the first deploy starts it)
    playbook("deploy.yml", "-l", "staging", "-e", "lock_wait=180")
    for svc in PATHS:
        playbook("deploy.yml", "-l", "staging", "-e", "service=%s" % svc, "-e", "version=1.4.2")
    start_first = measure_all(*versions(run, "expose"))
    with tempfile.TemporaryDirectory() as tmp:
        forced = os.path.join(tmp, "stop-first.json")
        catalogue = {svc: {"image": "localhost:5000/aegee/%s" % svc} for svc in PATHS}
        catalogue["core"]["switch"] = "stop-first"
        with open(forced, "w") as handle:
            json.dump({"aegee_services": catalogue}, handle)
        again = versions(run, "forced")[0]
        start_first.append(measure("single-service deploy, forced stop-first",
                                   deploy("-e", "@" + forced, "-e", "service=core", "-e", "version=%s" % again),
                                   [GATEWAY + PATHS["core"]]))
        # every service publishes a host port: each switch is stop-first (compose recreates the container)
        work = os.path.join(tmp, "origin")
        ports_origin(work)
        try:
            for svc in PATHS:  # into that shape at 1.4.2 (each compose file changed)
                playbook("deploy.yml", "-l", "staging", "-e", "service=%s" % svc, "-e", "version=1.4.2",
                         "-e", "force=true")
            stop_first = measure_all(*versions(run, "ports"))
        finally:
            revert_origin(work)
            playbook("deploy.yml", "-l", "staging", "-e", "lock_wait=180")
    playbook("deploy.yml", "-l", "staging", "-e", "service=core", "-e", "version=1.5.0")
    print("load: %d requests/s through %s" % (RATE, GATEWAY))
    table("services publish host ports: stop-first (compose recreates the container)", stop_first)
    table("services expose their port only (the real shape): start-first", start_first)


def measure_all(good, never, slow, *extra):
    """The five rows (single, all, rollback, never healthy, slow boot) with the playbooks' ``extra`` arguments."""
    core = [GATEWAY + PATHS["core"]]
    rows = [
        measure("all-services deploy", deploy(*extra), [GATEWAY + p for p in PATHS.values()]),
        measure("single-service deploy", deploy(*extra, "-e", "service=core", "-e", "version=%s" % good), core),
        measure("rollback", ["ansible-playbook", "playbooks/rollback.yml", "-l", "staging", *extra, "-e",
                             "service=core", "-e", "version=1.5.0", "-e", "reason=downtime benchmark"], core),
        measure("never healthy (restored)", deploy(*extra, "-e", "service=core", "-e", "version=%s" % never), core,
                expect_failure=True),
        measure("slow boot (START_DELAY=5)", deploy(*extra, "-e", "service=core", "-e", "version=%s" % slow), core),
    ]
    # back to 1.4.2 everywhere for the next set
    for svc in PATHS:
        playbook("deploy.yml", "-l", "staging", *extra, "-e", "service=%s" % svc, "-e", "version=1.4.2",
                 "-e", "force=true")
    return rows


def table(title, rows):
    print(title)
    print("%-42s %9s %7s %12s %12s" % ("release", "requests", "failed", "longest gap", "release time"))
    for r in rows:
        print("%-42s %9d %7d %11.2fs %11.2fs" % (r["row"], r["requests"], r["failed"], r["gap"], r["release"]))
    low = [r["row"] for r in rows if r["rate"] < RATE * 0.9]
    if low:
        print("note: the load fell below %d requests/s in: %s (the machine is busy)" % (RATE, ", ".join(low)))


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()

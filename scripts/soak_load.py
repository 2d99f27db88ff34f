#!/usr/bin/env python3
"""Load generator and checker of scripts/soak.sh (standard library only).

Phases over DURATION seconds: the simulator's faults change in turn (error rate, dropped
connections, latency, a full outage, a 429 storm) while several client keys send a mix of
cached queries (a fixed pool, warmed first) and new ones. Postgres is restarted once, half way.

Checks (exit status 1 on any violation):
  - no 5xx for a query whose answer the cache held (the warmed pool);
  - every 200 body equals the simulator's own answer to the same query (taken before the run);
  - resident memory and open file descriptors of the proxy, printed every 30 s, stay flat:
    the last sample is within 64 MiB / 32 fds of the first one after warm-up;
  - the cache's bytes stay within JQP_CACHE_MAX_BYTES.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# Historic queries: their answers do not change while the soak runs (the simulator is
# deterministic), so every 200 can be compared with the reference body.
POOL = [
    "/equities/bars/daily?code={c}&from=2026-10-01&to=2026-10-30",
    "/equities/bars/daily?date=2026-10-{d:02d}",
    "/fins/summary?code={c}",
    "/markets/margin-interest?code={c}&from=2026-06-01&to=2026-09-30",
    "/equities/valuation?code={c}&from=2026-10-01&to=2026-10-30",
    "/indices/bars/daily/topix?from=2026-09-01&to=2026-10-30",
    "/markets/calendar?from=2026-01-01&to=2026-12-31",
    "/fins/dividend?code={c}",
]
CODES = ["72030", "67580", "99840", "83060", "13010", "28020"]
DAYS = [1, 2, 6, 7, 8, 9]


def pool_queries():
    out = []
    for t in POOL:
        for i in range(len(CODES)):
            q = "/v2" + t.format(c=CODES[i], d=DAYS[i])
            if q not in out:
                out.append(q)
    return out


def get(url, key, timeout=120):
    req = urllib.request.Request(url, headers={"x-api-key": key})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:  # noqa: BLE001 - connection errors are counted, not raised
        return 0, str(e).encode()


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def answer(body):
    """The answer without `cursor`, which the upstream stamps with the time of each request."""
    v = json.loads(body)
    if isinstance(v, dict):
        v.pop("cursor", None)
    return v


def proc_sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


class Soak:
    def __init__(self, a):
        self.a = a
        self.keys = a.client_keys.split(",")
        self.lock = threading.Lock()
        self.counts = {}
        self.violations = []
        self.stop = threading.Event()
        self.reference = {}

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def violate(self, msg):
        with self.lock:
            if len(self.violations) < 50:
                self.violations.append(msg)
        self.count("violations")

    def warm(self):
        for q in pool_queries():
            status, body = get(self.a.sim + q, self.a.sim_key)
            if status != 200:
                sys.exit(f"simulator refused reference query {q}: {status} {body[:200]!r}")
            self.reference[q] = answer(body)
            status, body = get(self.a.proxy + q, self.keys[0])
            if status != 200 or answer(body) != self.reference[q]:
                sys.exit(f"warm-up: proxy answer for {q} differs ({status})")
        print(f"soak: warmed {len(self.reference)} answers", flush=True)

    def cached_worker(self, n):
        """Asks the warmed pool: each answer must come back, and right, whatever the upstream does."""
        rnd = random.Random(n)
        key = self.keys[n % len(self.keys)]
        pool = list(self.reference)
        while not self.stop.is_set():
            q = rnd.choice(pool)
            status, body = get(self.a.proxy + q, key)
            self.count(f"cached {status}")
            if status >= 500 or status == 0:
                self.violate(f"{status} for cached {q}: {body[:120]!r}")
            elif status == 200 and answer(body) != self.reference[q]:
                self.violate(f"wrong body for {q}")
            time.sleep(0.01)

    def new_worker(self, n):
        """Asks questions the cache has not seen: these may fail while the upstream is down."""
        rnd = random.Random(1000 + n)
        key = self.keys[n % len(self.keys)]
        while not self.stop.is_set():
            q = f"/v2/equities/bars/daily?code={rnd.randint(1300, 9999)}0&date=2026-10-{rnd.choice(DAYS):02d}"
            status, _ = get(self.a.proxy + q, key, timeout=90)
            self.count(f"new {status}")
            time.sleep(0.2)

    def phases(self):
        d = self.a.duration
        outage = min(120, d * 0.2)
        rest = (d - outage) / 6
        return [
            ("baseline", rest, {}),
            ("error rate 30%", rest, {"error_rate": 0.3}),
            ("dropped connections", rest, {"drop_connections": 1_000_000}),
            ("latency 800 ms", rest, {"latency_ms": 800}),
            (f"outage {outage:.0f} s", outage, {"outage": True}),
            ("429 storm", rest, {"error_status": 429, "error_rate": 1.0}),
            ("recovery", rest, {}),
        ]

    def monitor(self, samples):
        interval = min(30.0, max(5.0, self.a.duration / 12))
        start = time.time()
        while not self.stop.wait(interval):
            rss, fds = proc_sample(self.a.pid)
            stats = self.cache_stats()
            samples.append((rss, fds))
            print(f"soak: t={time.time() - start:5.0f}s rss={rss / 2**20:6.1f} MiB fds={fds:4d} "
                  f"cache_bytes={stats.get('l1_bytes', -1)} stale_served={stats.get('stale_served', -1)} "
                  f"requests={sum(v for k, v in self.counts.items() if k != 'violations')}", flush=True)
            if stats.get("l1_bytes", 0) > self.a.cache_max_bytes:
                self.violate(f"cache bytes {stats['l1_bytes']} above {self.a.cache_max_bytes}")

    def cache_stats(self):
        status, body = get(self.a.proxy + "/admin/cache/stats", self.a.admin_key)
        return json.loads(body) if status == 200 else {}

    def run(self):
        self.warm()
        samples = [proc_sample(self.a.pid)]
        print(f"soak: after warm-up rss={samples[0][0] / 2**20:.1f} MiB fds={samples[0][1]}", flush=True)
        threads = [threading.Thread(target=self.cached_worker, args=(n,), daemon=True) for n in range(self.a.workers)]
        threads += [threading.Thread(target=self.new_worker, args=(n,), daemon=True) for n in range(2)]
        threads.append(threading.Thread(target=self.monitor, args=(samples,), daemon=True))
        for t in threads:
            t.start()
        restarted = False
        begin = time.time()
        for name, secs, faults in self.phases():
            print(f"soak: phase {name} ({secs:.0f} s) faults={faults}", flush=True)
            post(self.a.sim + "/__sim/faults", faults)
            end = time.time() + secs
            while time.time() < end:
                if not restarted and time.time() - begin > self.a.duration / 2:
                    restarted = True
                    print("soak: restarting Postgres", flush=True)
                    subprocess.run(self.a.pg_restart, shell=True, check=True)
                time.sleep(0.5)
        post(self.a.sim + "/__sim/faults", {})
        self.stop.set()
        for t in threads[: self.a.workers]:
            t.join(timeout=150)
        final = proc_sample(self.a.pid)
        samples.append(final)
        first = samples[0]
        grew_mem = final[0] - first[0]
        grew_fds = final[1] - first[1]
        print(f"soak: rss {first[0] / 2**20:.1f} -> {final[0] / 2**20:.1f} MiB (max {max(s[0] for s in samples) / 2**20:.1f}), "
              f"fds {first[1]} -> {final[1]} (max {max(s[1] for s in samples)})", flush=True)
        if grew_mem > 64 * 2**20:
            self.violate(f"resident memory grew by {grew_mem / 2**20:.1f} MiB")
        if grew_fds > 32:
            self.violate(f"open file descriptors grew by {grew_fds}")
        if not restarted:
            self.violate("Postgres was not restarted")
        print("soak: responses " + ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items())), flush=True)
        for v in self.violations:
            print(f"soak: VIOLATION {v}", flush=True)
        return 0 if not self.violations else 1


def main():
    p = argparse.ArgumentParser()
    for name in ("proxy", "sim", "sim-key", "client-keys", "admin-key", "pg-restart"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--cache-max-bytes", type=int, required=True)
    sys.exit(Soak(p.parse_args()).run())


if __name__ == "__main__":
    main()

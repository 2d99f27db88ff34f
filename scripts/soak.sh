#!/usr/bin/env bash
# Soak test: scripts/soak.sh [SECONDS]   (default 600; CI runs 60)
#
# Starts its own simulator, its own throwaway Postgres cluster (initdb into a temp dir, on a
# free port: never the shared one) and the proxy in front of both, then runs
# scripts/soak_load.py: mixed load from four client keys while the simulator injects faults in
# turn (error rate, dropped connections, latency, an outage of 20% of the run up to 2 minutes,
# a 429 storm) and Postgres is restarted once. Prints RSS, fds and cache bytes every 30 s and
# fails on a 5xx for a cached answer, a body that differs from the simulator's, growing memory
# or fds, or cache bytes above JQP_CACHE_MAX_BYTES. Needs: the built binary (JQP_BIN), python3,
# PostgreSQL server binaries (initdb, pg_ctl).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-600}"
bin="${JQP_BIN:-$PWD/target/debug/jquants-proxy}"
cache_max_bytes=$((128 * 1024 * 1024))
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do pg_bin="$d"; done  # the newest installed version
[ -x "$pg_bin/initdb" ] || { echo "soak: PostgreSQL server binaries (initdb) not found" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d /tmp/jqp-soak.XXXXXX)"
pids=()
# shellcheck disable=SC2329  # invoked by the EXIT trap below
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  run_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# initdb and the server refuse to run as root: run them as the postgres user when we are root.
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_port="$(free_port)"
chmod 755 "$work"; mkdir "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
run_pg "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
pg_ctl_cmd="$pg_bin/pg_ctl -D $work/pg -o '-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1' -l $work/pg/log -w"
run_pg sh -c "$pg_ctl_cmd start" >/dev/null
if [ "$(id -u)" = 0 ]; then pg_as="runuser -u postgres --"; else pg_as=""; fi
pg_restart="$pg_as sh -c \"$pg_ctl_cmd -m fast restart\" >/dev/null"

sim_port="$(free_port)"; proxy_port="$(free_port)"
sim_key="soak-sim-key-1234"; admin_key="soak-admin-key-5678"
client_keys="k1-soak-key-0001,k2-soak-key-0002,k3-soak-key-0003,k4-soak-key-0004"
named_keys="c1:k1-soak-key-0001,c2:k2-soak-key-0002,c3:k3-soak-key-0003,c4:k4-soak-key-0004"
env -u RUST_BACKTRACE "$bin" sim --listen "127.0.0.1:$sim_port" --api-key "$sim_key" --plan premium --issues 400 \
  >"$work/sim.log" 2>&1 &
pids+=("$!")
JQUANTS_API_KEY="$sim_key" JQUANTS_BASE_URL="http://127.0.0.1:$sim_port/v2" JQUANTS_PLAN=premium \
  DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres" JQP_CACHE_MAX_BYTES="$cache_max_bytes" \
  JQP_CLIENT_KEYS="$named_keys" \
  JQP_ADMIN_KEY="$admin_key" JQP_LOG_FORMAT=json \
  "$bin" serve --listen "127.0.0.1:$proxy_port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!; pids+=("$proxy_pid")
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$proxy_port/readyz" >/dev/null 2>&1 && break; sleep 0.5
done
echo "soak: ${duration} s, proxy pid $proxy_pid, own Postgres on port $pg_port, cache bound $cache_max_bytes bytes"
status=0
python3 scripts/soak_load.py --proxy "http://127.0.0.1:$proxy_port" --sim "http://127.0.0.1:$sim_port" \
  --sim-key "$sim_key" --client-keys "$client_keys" --admin-key "$admin_key" --pid "$proxy_pid" \
  --duration "$duration" --cache-max-bytes "$cache_max_bytes" --pg-restart "$pg_restart" || status=$?
if ! kill -0 "$proxy_pid" 2>/dev/null; then echo "soak: the proxy died" >&2; tail -20 "$work/proxy.log" >&2; status=1; fi
if [ "$status" = 0 ]; then
  echo "soak: passed"
else
  echo "soak: FAILED" >&2
  grep -i '"level":"ERROR"' "$work/proxy.log" | tail -5 >&2 || true
fi
exit "$status"

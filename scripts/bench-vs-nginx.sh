#!/usr/bin/env bash
# Serving what is already held: jquants-proxy (release build) against nginx proxy_cache, side
# by side in one run, each in front of its own simulator (`jquants-proxy sim --latency-ms 30`),
# with a bare hyper server sending the same bytes (`bench_probe bare`) as the ceiling.
# Loopback only, random high ports; everything started here is stopped on exit. Prints one
# markdown table with ratios (docs/benchmarks.md, "Against nginx", shows the latest).
#
#   scripts/bench-vs-nginx.sh            # 3 rounds x 3 s per server and cell, ~9 minutes
#   BENCH_ROUNDS=5 BENCH_SECS=5 scripts/bench-vs-nginx.sh
#   BENCH_SETS=medium BENCH_ENCODINGS=identity BENCH_CONNS=64 scripts/bench-vs-nginx.sh  # cells
#
# Measures: hit throughput and p50/p99/p99.9 at 1, 16 and 64 connections for small (one
# code, one day), medium (one code, one year) and large (all codes, one day) answers, with
# and without gzip, access logs on for nginx and the proxy; a cold storm (500 identical
# concurrent misses: upstream calls and the waiters' latency); upstream calls for one request
# spelled four ways; hit latency while misses queue on the proxy's upstream limiter; resident
# memory.
#
# Why rounds: on a shared 2-core VM one 5 s wrk run of the same server moves by +-15 % from
# one minute to the next (scheduler placement of 4 busy threads on 2 cores, neighbours), more
# than the differences measured. Each cell runs every server once per round, in a rotated
# order, and reports the median of the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${BENCH_SECS:-3}"
ROUNDS="${BENCH_ROUNDS:-3}"
STORM_N="${BENCH_STORM_N:-500}"
KEY="bench-upstream-key"
T0=$(date +%s)

need() { command -v "$1" >/dev/null || {
  echo "== installing $2 (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}; }
need wrk wrk
need nginx nginx-light
command -v python3 >/dev/null || { echo "python3 is needed (JSON and free ports)"; exit 1; }

if [ -n "${BENCH_BIN_DIR:-}" ]; then
  # A directory holding jquants-proxy and bench_probe from another build (e.g. an older
  # commit's, for a before/after comparison); nothing is built.
  BIN="$BENCH_BIN_DIR/jquants-proxy"; PROBE="$BENCH_BIN_DIR/bench_probe"
else
  echo "== building (release)"
  cargo build --release --locked --quiet --bin jquants-proxy --example bench_probe
  TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
  BIN="$TARGET/release/jquants-proxy"; PROBE="$TARGET/release/examples/bench_probe"
fi

# On disk, as a team runs nginx (`proxy_cache_path` under /var/cache): its hits are then
# `sendfile` from the page cache with no copy. On tmpfs, shmem's splice copies every body
# (`_copy_to_iter` in nginx's profile), which would flatter the proxy.
WORK=$(mktemp -d /var/tmp/jqp-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  kill "$(cat "$WORK/nginx.pid" 2>/dev/null)" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1"; exit 1; }
calls() { curl -fs "http://127.0.0.1:$1/__sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

SIM_P=$(free_port); SIM_N=$(free_port); PORT_P=$(free_port); PORT_N=$(free_port); PORT_B=$(free_port)
for s in "$SIM_P" "$SIM_N"; do
  "$BIN" sim --listen "127.0.0.1:$s" --api-key "$KEY" --latency-ms 30 >"$WORK/sim-$s.log" 2>&1 &
  PIDS+=($!)
done

# The proxy as shipped: INFO access log (one line per request) to a file.
JQUANTS_API_KEY="$KEY" JQUANTS_BASE_URL="http://127.0.0.1:$SIM_P/v2" JQUANTS_PLAN=premium \
  JQP_LISTEN="127.0.0.1:$PORT_P" "$BIN" serve >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!; PIDS+=("$PROXY_PID")

# nginx as a team would set it up: a cache in front of J-Quants that injects the subscription
# key, caches identity bodies and compresses per request; sendfile on. Debian's default
# `tcp_nopush on` is left out: with sendfile it held each ~130 KB response about 40 ms on
# loopback (25 hits/s on one connection instead of 23,000), which would flatter the proxy.
mkdir -p "$WORK/nginx-cache" "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<EOF
user root;
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  sendfile on;
  keepalive_requests 1000000;
  access_log $WORK/nginx-access.log;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  proxy_cache_path $WORK/nginx-cache levels=1:2 keys_zone=jq:64m max_size=4g inactive=1h use_temp_path=off;
  gzip on;
  gzip_proxied any;
  gzip_types application/json;
  upstream jquants { server 127.0.0.1:$SIM_N; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT_N backlog=4096;
    location /v2/ {
      proxy_pass http://jquants;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header x-api-key $KEY;
      proxy_set_header Accept-Encoding "";
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
      proxy_cache jq;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 60s;
      proxy_cache_lock_age 60s;
      proxy_buffers 64 64k;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon off;' &
PIDS+=($!)

wait_http "http://127.0.0.1:$SIM_P/__sim/stats"; wait_http "http://127.0.0.1:$SIM_N/__sim/stats"
wait_http "http://127.0.0.1:$PORT_P/healthz"
sleep 0.5

# The answers: small = 64 codes on one day; medium = the same 64 codes over one year;
# large = all codes on 16 days. Codes come from the simulator's own bars of that day.
curl -fs -H "x-api-key: $KEY" "http://127.0.0.1:$SIM_N/v2/equities/bars/daily?date=2026-11-19" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print("\n".join(r["Code"] for r in d[:300]))' >"$WORK/codes"
head -64 "$WORK/codes" | sed 's|.*|/v2/equities/bars/daily?code=&\&date=2026-11-19|' >"$WORK/small"
head -64 "$WORK/codes" | sed 's|.*|/v2/equities/bars/daily?code=&\&from=2025-11-20\&to=2026-11-19|' >"$WORK/medium"
for d in 02 04 05 06 09 10 11 12 13 16 17 18 19 20 24 25; do
  echo "/v2/equities/bars/daily?date=2026-11-$d"
done >"$WORK/large"
# Misses must be misses for the proxy's row store too: codes outside the medium histories and
# days outside the large cross-sections (2026-11-26, 27, 30 are business days not warmed).
sed -n 101,200p "$WORK/codes" | sed 's|.*|/v2/equities/bars/daily?code=&\&date=2026-11-30|' >"$WORK/queued"

echo "== warming both caches (the proxy spaces upstream calls at its plan's rate)"
WARM_T=$(date +%s)
for set in small medium large; do
  "$PROBE" burst "http://127.0.0.1:$PORT_N" "$WORK/$set" >/dev/null &
  "$PROBE" burst "http://127.0.0.1:$PORT_P" "$WORK/$set" >/dev/null
  wait $!
done
echo "   warm in $(( $(date +%s) - WARM_T )) s; upstream calls: proxy $(calls "$SIM_P"), nginx $(calls "$SIM_N")"
# The ceiling: the proxy's own bytes for every answer, served by axum with no logic at all.
"$PROBE" bare "$PORT_B" "http://127.0.0.1:$PORT_P" "$WORK/small" "$WORK/medium" "$WORK/large" \
  >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT_B$(head -1 "$WORK/small")"

cat >"$WORK/rotate.lua" <<'EOF'
-- Rotates over the warm answers listed in $PATHS; prints one machine-readable line.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status))
end
EOF

# wrk_run PORT SET CONNS GZIP -> "rps p50 p99 p999 errors"
wrk_run() {
  local threads=2 hdr=()
  [ "$3" -lt 2 ] && threads=1
  [ "$4" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
  PATHS="$WORK/$2" wrk -t"$threads" -c"$3" -d"${SECS}s" "${hdr[@]}" -s "$WORK/rotate.lua" \
    "http://127.0.0.1:$1" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}

# cell SET CONNS ENC -> one table row: per server the median over ROUNDS runs of throughput
# and of each latency percentile; the servers' order rotates from round to round.
cell() {
  local runs="$WORK/runs" servers=("nginx:$PORT_N" "proxy:$PORT_P" "bare:$PORT_B")
  : >"$runs"
  for r in $(seq 0 $(( ROUNDS - 1 ))); do
    for i in 0 1 2; do
      local s="${servers[$(( (i + r) % 3 ))]}"
      echo "${s%%:*} $(wrk_run "${s##*:}" "$1" "$2" "$3")" >>"$runs"
    done
  done
  python3 - "$runs" "$1" "$3" "$2" <<'PY'
import statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    name, *v = line.split()
    runs.setdefault(name, []).append([float(x) for x in v])
def med(name, i): return st.median(r[i] for r in runs[name])
def lat(name): return " / ".join(f"{med(name, i):.2f}" for i in (1, 2, 3))
n, p, b = (med(k, 0) for k in ("nginx", "proxy", "bare"))
errs = " / ".join(str(int(sum(r[4] for r in runs[k]))) for k in ("nginx", "proxy"))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {n:.0f} | {p:.0f} | **{p / n:.2f}** | "
      f"{b:.0f} | {b / n:.2f} | {lat('nginx')} | {lat('proxy')} | {errs} |")
PY
}

echo "== hits: $ROUNDS rounds of wrk ${SECS}s per server and cell; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=()
HIT_CALLS_P=$(calls "$SIM_P"); HIT_CALLS_N=$(calls "$SIM_N")
for set in ${BENCH_SETS:-small medium large}; do
  for enc in ${BENCH_ENCODINGS:-identity gzip}; do
    for c in ${BENCH_CONNS:-1 16 64}; do
      ROWS+=("$(cell "$set" "$c" "$enc")")
      echo "   ${ROWS[-1]}"
    done
  done
done
HIT_CALLS_P=$(( $(calls "$SIM_P") - HIT_CALLS_P )); HIT_CALLS_N=$(( $(calls "$SIM_N") - HIT_CALLS_N ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== cold storm: $STORM_N identical concurrent misses"
WARM_URL=$(head -1 "$WORK/medium")
# A small answer, so the waiters' latency measures how soon they learn of it, not the time
# to send 500 copies of a large body over one machine's loopback.
STORM_PATH="/v2/equities/bars/daily?code=$(sed -n 201p "$WORK/codes")&date=2026-11-26"
storm() {
  local before; before=$(calls "$1")
  read -r _ ok failed p50 p90 p99 max < <("$PROBE" storm "http://127.0.0.1:$2$STORM_PATH" "$STORM_N" "http://127.0.0.1:$2$WARM_URL")
  echo "$(( $(calls "$1") - before )) $ok $failed $p50 $p90 $p99 $max"
}
read -r sn_calls sn_ok sn_failed sn_p50 sn_p90 sn_p99 sn_max < <(storm "$SIM_N" "$PORT_N")
read -r sp_calls sp_ok sp_failed sp_p50 sp_p90 sp_p99 sp_max < <(storm "$SIM_P" "$PORT_P")

echo "== one request spelled four ways"
spelled() {
  local before; before=$(calls "$1")
  local code; code=$(sed -n 250p "$WORK/codes"); local short="${code:0:4}"
  for q in "code=$code&date=2026-11-27" "date=2026-11-27&code=$code" "code=$short&date=20261127" "code=$short&date=2026-11-27"; do
    curl -fs -o /dev/null "http://127.0.0.1:$2/v2/equities/bars/daily?$q"
  done
  echo $(( $(calls "$1") - before ))
}
SPELL_N=$(spelled "$SIM_N" "$PORT_N"); SPELL_P=$(spelled "$SIM_P" "$PORT_P")

echo "== proxy hits (medium, 16 connections) before and while 100 misses queue on its upstream limiter"
read -r q0_rps q0_p50 q0_p99 q0_p999 _ < <(wrk_run "$PORT_P" medium 16 identity)
Q_CALLS=$(calls "$SIM_P")
"$PROBE" burst "http://127.0.0.1:$PORT_P" "$WORK/queued" >/dev/null &
BURST_PID=$!; PIDS+=("$BURST_PID")
sleep 0.5
read -r q1_rps q1_p50 q1_p99 q1_p999 _ < <(wrk_run "$PORT_P" medium 16 identity)
Q_CALLS=$(( $(calls "$SIM_P") - Q_CALLS ))
kill "$BURST_PID" 2>/dev/null || true

rss_kb() { awk '/VmRSS/ {s += $2} END {print s}' "$@"; }
NGINX_MASTER=$(cat "$WORK/nginx.pid")
mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_MASTER" | sed 's|.*|/proc/&/status|')
NGINX_RSS=$(rss_kb "/proc/$NGINX_MASTER/status" "${NGINX_WORKERS[@]}")
PROXY_RSS=$(rss_kb "/proc/$PROXY_PID/status")
NGINX_DISK=$(du -sk "$WORK/nginx-cache" | cut -f1)

cat <<EOF

## jquants-proxy vs nginx proxy_cache ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $LOAD_AFTER after the hit runs)

Medians of $ROUNDS rounds of wrk ${SECS}s per server and cell, rotating over 64 warm answers
(16 for large); access logs on for nginx and the proxy. Throughput in requests/s; latency in
ms (p50 / p99 / p99.9); ratio = proxy / nginx. "bare" is axum sending the same bytes with no
logic and no log (\`bench_probe bare\`): what any hyper server reaches here.

| answer | encoding | conns | nginx req/s | proxy req/s | proxy / nginx | bare req/s | bare / nginx | nginx p50 / p99 / p99.9 | proxy p50 / p99 / p99.9 | errors n / p |
|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

Upstream calls during the hit runs: nginx $HIT_CALLS_N, proxy $HIT_CALLS_P.

| | nginx proxy_cache | jquants-proxy |
|---|---|---|
| cold storm: $STORM_N identical concurrent misses, upstream calls | $sn_calls | $sp_calls |
| storm waiters ok / failed | $sn_ok / $sn_failed | $sp_ok / $sp_failed |
| storm waiters' latency p50 / p90 / p99 / max, ms (upstream: 30) | $sn_p50 / $sn_p90 / $sn_p99 / $sn_max | $sp_p50 / $sp_p90 / $sp_p99 / $sp_max |
| one request spelled 4 ways, upstream calls | $SPELL_N | $SPELL_P |
| resident memory after the run | $(( NGINX_RSS / 1024 )) MiB (+ $(( NGINX_DISK / 1024 )) MiB cache files) | $(( PROXY_RSS / 1024 )) MiB |

Proxy hits (medium, identity, 16 connections) while 100 misses queue on its upstream limiter
($Q_CALLS of them reached the upstream during the window):

| | req/s | p50 / p99 / p99.9 ms |
|---|---|---|
| before the burst | $q0_rps | $q0_p50 / $q0_p99 / $q0_p999 |
| misses queued | $q1_rps | $q1_p50 / $q1_p99 / $q1_p999 |

Total runtime $(( $(date +%s) - T0 )) s (command: \`BENCH_ROUNDS=$ROUNDS BENCH_SECS=$SECS scripts/bench-vs-nginx.sh\`).
EOF

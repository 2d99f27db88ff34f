#!/usr/bin/env bash
# Instructions per cache hit: the proxy (release build) runs under valgrind callgrind in front
# of a simulator; after warming, only the hits are counted (every thread of the proxy: workers
# and the log writer). Instruction counts do not move with the load on the machine, so this
# compares builds where wall-clock benchmarks (scripts/bench-vs-nginx.sh) cannot.
#
#   scripts/hit-instructions.sh                  # medium answers, identity, 2000 hits
#   HITS_ENC=gzip HITS_N=4000 scripts/hit-instructions.sh
#   BENCH_BIN_DIR=dir scripts/hit-instructions.sh   # a prebuilt jquants-proxy + bench_probe
#
# Prints instructions per hit and the top functions (inclusive); the raw profile is kept in
# $HITS_OUT (default target/hit-instructions) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${HITS_N:-2000}"; ENC="${HITS_ENC:-identity}"; CONNS="${HITS_CONNS:-8}"
OUT="${HITS_OUT:-$PWD/target/hit-instructions}"
KEY="bench-upstream-key"
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian: apt-get install valgrind)"; exit 1; }

if [ -n "${BENCH_BIN_DIR:-}" ]; then
  BIN="$BENCH_BIN_DIR/jquants-proxy"; PROBE="$BENCH_BIN_DIR/bench_probe"
else
  cargo build --release --locked --quiet --bin jquants-proxy --example bench_probe
  TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
  BIN="$TARGET/release/jquants-proxy"; PROBE="$TARGET/release/examples/bench_probe"
fi

mkdir -p "$OUT"; rm -f "$OUT"/callgrind.out.*
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not up: $1"; exit 1; }

SIM=$(free_port); PORT=$(free_port)
"$BIN" sim --listen "127.0.0.1:$SIM" --api-key "$KEY" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
# As shipped: INFO access log, one line per request, to a file.
JQUANTS_API_KEY="$KEY" JQUANTS_BASE_URL="http://127.0.0.1:$SIM/v2" JQUANTS_PLAN=premium \
  JQP_LISTEN="127.0.0.1:$PORT" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$OUT/callgrind.out.%p" "$BIN" serve >"$OUT/proxy.log" 2>"$OUT/valgrind.log" &
VG=$!; PIDS+=("$VG")
wait_http "http://127.0.0.1:$SIM/__sim/stats"; wait_http "http://127.0.0.1:$PORT/healthz"

# Medium answers (one code, one year of daily bars), as in scripts/bench-vs-nginx.sh.
curl -fs -H "x-api-key: $KEY" "http://127.0.0.1:$SIM/v2/equities/bars/daily?date=2026-11-19" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print("\n".join(r["Code"] for r in d[:8]))' |
  sed 's|.*|/v2/equities/bars/daily?code=&\&from=2025-11-20\&to=2026-11-19|' >"$WORK/medium"
"$PROBE" burst "http://127.0.0.1:$PORT" "$WORK/medium" >/dev/null
# Warm hits (thread-local metric handles, allocator pools, connections) are not counted.
"$PROBE" hits "http://127.0.0.1:$PORT" "$WORK/medium" 200 "$CONNS" "$ENC" >/dev/null

callgrind_control --instr=on "$VG" >/dev/null
read -r _ n not_hits secs < <("$PROBE" hits "http://127.0.0.1:$PORT" "$WORK/medium" "$N" "$CONNS" "$ENC")
callgrind_control --instr=off "$VG" >/dev/null
callgrind_control --dump=hits "$VG" >/dev/null
sleep 1
PROFILE=$(find "$OUT" -name 'callgrind.out.*' -printf '%T@ %p\n' | sort -nr | head -1 | cut -d' ' -f2-)
TOTAL=$(callgrind_annotate "$PROFILE" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t {gsub(",", "", $1); t = $1} END {print t}')
echo "HITS $ENC: $n requests ($not_hits not 200 hits) in $secs s under callgrind"
echo "instructions per hit: $(( TOTAL / n )) (total $TOTAL; profile $PROFILE)"
callgrind_annotate --inclusive=yes "$PROFILE" 2>/dev/null | sed -n '/file:function/,$p' | head -45

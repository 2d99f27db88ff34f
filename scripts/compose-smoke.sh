#!/usr/bin/env bash
# Builds docker/Dockerfile and runs docker/compose.yaml for real (CI's last stage).
#
# There is no Docker engine and no reachable container registry here, so it uses Debian's
# rootful `podman` with `podman-compose` (PyPI) and makes its base images locally:
#   - debian:bookworm-slim stand-in: `debootstrap --variant=minbase bookworm` from the Debian
#     mirror apt already uses, trimmed like the -slim images;
#   - rust:1.95-slim-bookworm stand-in: that base + gcc + a copy of the host's Rust 1.95
#     toolchain (docker/smoke/rust.Containerfile);
#   - postgres:17 stand-in: Debian 13 (trixie) + its postgresql-17, with an entrypoint that
#     honours the official image's POSTGRES_* variables (docker/smoke/postgres.Containerfile).
# The app image is then built from docker/Dockerfile unchanged (base images passed as build
# arguments), the compose file is started unchanged with the `sim` profile, and the checks
# run through the published ports:
#   proxy (demo mode):  /healthz, /readyz, Swagger UI, a /v2 and a /derived answer;
#   sim-proxy (live mode against the `sim` service, cache in sim-postgres): the same plus
#   /readyz postgres=ok, then a restart of the proxy container after which the same answers
#   come back with 0 upstream calls (the simulator's /__sim/stats).
# The stack (containers, networks, volumes) is removed on exit, also after a failure. Base
# images and podman's build cache are kept between runs (JQP_SMOKE_CLEAN=1 removes them too),
# so a second run skips debootstrap and the dependency compilation; a fresh machine builds all.
#
# Usage: scripts/compose-smoke.sh
# Env:   JQP_SMOKE_PORT      first of three host ports (default 18480: proxy; +1 sim-proxy;
#                            +2 simulator), non-default so it cannot collide with a dev stack
#        JQP_SMOKE_PROJECT   compose project name (default jqp-smoke)
#        JQP_SMOKE_CACHE     tool/config directory (default ~/.cache/jquants-proxy/compose-smoke)
#        JQP_SMOKE_MIRROR    Debian mirror (default: the first one in /etc/apt/sources.list*)
#        JQP_SMOKE_CLEAN=1   also remove the images it built
#        JQP_SMOKE_REBUILD_BASE=1  remake the base images
#        JQP_SMOKE_SKIP_BUILD=1    use the existing jquants-proxy:latest (iterating on compose)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CACHE="${JQP_SMOKE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/jquants-proxy/compose-smoke}"
PROJECT="${JQP_SMOKE_PROJECT:-jqp-smoke}"
PORT="${JQP_SMOKE_PORT:-18480}"
PODMAN_COMPOSE_VERSION="1.6.0"
RUST_MINOR="1.95"
APP_IMAGE="jquants-proxy:latest" # the name docker/compose.yaml uses
DEBIAN_IMAGE="localhost/jqp-smoke/debian:bookworm-slim"
RUST_IMAGE="localhost/jqp-smoke/rust:${RUST_MINOR}-slim-bookworm"
TRIXIE_IMAGE="localhost/jqp-smoke/debian:trixie-minbase"
POSTGRES_IMAGE="localhost/jqp-smoke/postgres:17-trixie"
COMPOSE_FILE="docker/compose.yaml"
BODY="$(mktemp)" # the last HTTP answer

# Interpolated by docker/compose.yaml.
export JQP_PORT="$PORT" JQP_SIM_PROXY_PORT="$((PORT + 1))" JQP_SIM_PORT="$((PORT + 2))"
export JQP_POSTGRES_IMAGE="$POSTGRES_IMAGE"

# ---------------------------------------------------------------------------
# Phases and their timings
# ---------------------------------------------------------------------------
TIMINGS=()
PHASE=""
PHASE_T0=$SECONDS
phase() { # phase NAME: close the running phase, start the next
  phase_done
  PHASE="$1"
  PHASE_T0=$SECONDS
  echo "== compose-smoke: $PHASE"
}
phase_done() {
  if [[ -n "$PHASE" ]]; then
    TIMINGS+=("$(printf '%-34s %5ss' "$PHASE" "$((SECONDS - PHASE_T0))")")
  fi
  PHASE=""
}
fail() {
  echo "FAIL - $*" >&2
  exit 1
}
ok() { echo "ok   - $*"; }
quietly() { # quietly WHAT CMD...: run CMD with its output in $CACHE/last.log, shown on failure
  local what="$1"
  shift
  if ! "$@" >"$CACHE/last.log" 2>&1; then
    tail -n 30 "$CACHE/last.log" >&2
    fail "$what"
  fi
}

# ---------------------------------------------------------------------------
# Tools: podman (+ runc, netavark, aardvark-dns, catatonit), debootstrap, podman-compose
# ---------------------------------------------------------------------------
install_tools() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [[ -x /usr/lib/podman/netavark ]] || need+=(netavark)
  [[ -x /usr/lib/podman/aardvark-dns ]] || need+=(aardvark-dns) # service names in DNS
  [[ -x /usr/libexec/podman/catatonit ]] || need+=(catatonit)     # compose's `init: true`
  command -v iptables >/dev/null || need+=(iptables) # netavark's published ports
  command -v curl >/dev/null || need+=(curl)
  python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv) # for podman-compose
  if ((${#need[@]})); then
    echo "   apt-get install ${need[*]}"
    apt-get update -qq
    # With recommends: that is how podman was installed on the machine this was proven on
    # (it brings iptables for netavark's port forwarding, among others).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  local venv="$CACHE/podman-compose"
  if ! "$venv/bin/podman-compose" --version 2>/dev/null | grep -q "podman-compose version $PODMAN_COMPOSE_VERSION"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "podman-compose==$PODMAN_COMPOSE_VERSION"
  fi
  PODMAN_COMPOSE="$venv/bin/podman-compose"
  # This sandbox cannot raise the default ulimits, has no systemd (so: cgroupfs, file event
  # log) and crun refuses its hybrid cgroups; runc works. Our own file, not /etc's.
  export CONTAINERS_CONF="$CACHE/containers.conf"
  cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
  podman --version
  "$PODMAN_COMPOSE" --version | grep podman-compose
}

# Base images: make_base_images (docker/smoke/base-images.sh)
# shellcheck source=/dev/null # shellchecked on its own (scripts/check-deploy.sh)
source "$ROOT/docker/smoke/base-images.sh"

build_images() {
  phase "base images"
  make_base_images

  phase "image build"
  # --format docker: the OCI format has no HEALTHCHECK. Progress: the STEP lines; the whole
  # log is kept in $CACHE/build.log and its tail shown on failure.
  if ! podman build --format docker --pull=never \
    --build-arg "RUST_IMAGE=$RUST_IMAGE" --build-arg "RUNTIME_IMAGE=$DEBIAN_IMAGE" \
    -f docker/Dockerfile -t "$APP_IMAGE" . 2>&1 | tee "$CACHE/build.log" \
    | { grep --line-buffered -E 'STEP [0-9]|Using cache|Finished|^COMMIT' | awk '{ print substr($0, 1, 110); fflush() }' || true; }; then
    tail -n 40 "$CACHE/build.log" >&2
    fail "image build"
  fi
}

# ---------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------
compose() { "$PODMAN_COMPOSE" -p "$PROJECT" -f "$COMPOSE_FILE" --profile sim "$@"; }

container_of() { # container_of SERVICE: its container id
  podman ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}

# podman schedules health checks with systemd timers; without systemd nobody runs them, so
# this loop does (every 2 s: it only speeds up "starting" -> "healthy").
HEALTH_PID=""
start_health_ticker() {
  (
    while sleep 2; do
      for c in $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT"); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
    done
  ) &
  HEALTH_PID=$!
}

wait_healthy() { # wait_healthy SERVICE...: until every one reports healthy (180 s at most)
  local svc c status deadline=$((SECONDS + 180))
  for svc in "$@"; do
    while :; do
      c="$(container_of "$svc")"
      status="$([[ -n "$c" ]] && podman inspect --format '{{.State.Health.Status}}' "$c" 2>/dev/null || echo missing)"
      [[ "$status" == healthy ]] && break
      if ((SECONDS > deadline)); then
        [[ -n "$c" ]] && podman logs --tail 30 "$c" >&2
        fail "$svc is not healthy after 180 s (status: $status)"
      fi
      sleep 1
    done
    ok "$svc healthy"
  done
}

# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  set +e
  phase_done
  rm -f "$BODY"
  [[ -n "$HEALTH_PID" ]] && kill "$HEALTH_PID" 2>/dev/null && wait "$HEALTH_PID" 2>/dev/null
  if [[ -n "${PODMAN_COMPOSE:-}" ]]; then
    if ((rc != 0)); then
      echo "== compose-smoke: failed; container states and proxy logs:"
      podman ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'
      for s in proxy sim-proxy; do
        c="$(container_of "$s")"
        [[ -n "$c" ]] && { echo "-- $s"; podman logs --tail 20 "$c" 2>&1; }
      done
    fi
    echo "== compose-smoke: removing the stack"
    compose down -v -t 10 >/dev/null 2>&1
    # Whatever `down` missed (e.g. a half-created stack).
    podman ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman rm -f >/dev/null 2>&1
    podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null 2>&1
    podman network rm "${PROJECT}_default" >/dev/null 2>&1
    if [[ "${JQP_SMOKE_CLEAN:-0}" == 1 ]]; then
      podman rmi -f "$APP_IMAGE" "$RUST_IMAGE" "$DEBIAN_IMAGE" "$POSTGRES_IMAGE" "$TRIXIE_IMAGE" >/dev/null 2>&1
      podman image prune -f >/dev/null 2>&1
    fi
  fi
  echo "== compose-smoke: timings"
  printf '   %s\n' "${TIMINGS[@]}"
  if ((rc == 0)); then echo "== compose-smoke: all checks passed"; else echo "== compose-smoke: FAILED"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # so that a killed run cleans up too

# ---------------------------------------------------------------------------
# HTTP checks
# ---------------------------------------------------------------------------

get() { # get URL: body into $BODY, prints the status code
  curl -sSL -o "$BODY" -w '%{http_code}' --max-time 60 "$1" || echo 000
}
expect() { # expect NAME URL GREP_PATTERN
  local code
  code="$(get "$2")"
  if [[ "$code" == 200 ]] && grep -Eq "$3" "$BODY"; then
    ok "$1 ($2)"
  else
    echo "       got HTTP $code: $(head -c 300 "$BODY")" >&2
    fail "$1 ($2)"
  fi
}
expect_within() { # expect_within SECONDS NAME URL GREP_PATTERN: retried once a second
  local deadline=$((SECONDS + $1))
  shift
  until [[ "$(get "$2")" == 200 ]] && grep -Eq "$3" "$BODY"; do
    ((SECONDS < deadline)) || break
    sleep 1
  done
  expect "$@"
}
sim_total() {
  get "http://127.0.0.1:$JQP_SIM_PORT/__sim/stats" >/dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$BODY"
}

V2_PATH="/v2/equities/bars/daily?code=72030&from=2026-10-01&to=2026-10-31"
DERIVED_PATH="/derived/market-cap?code=72030&from=2026-10-01&to=2026-10-31"
data_checks() { # data_checks NAME BASE_URL
  expect "$1 /v2 answer" "$2$V2_PATH" '"data":\[\{'
  expect "$1 /derived answer" "$2$DERIVED_PATH" '"data":\[\{'
}

# ---------------------------------------------------------------------------
# Main (a function, so that bash has read all of it before it runs: editing this file
# during a long build cannot derail the running copy)
# ---------------------------------------------------------------------------
main() {
  phase "tools"
  mkdir -p "$CACHE"
  install_tools

  if [[ "${JQP_SMOKE_SKIP_BUILD:-0}" == 1 ]]; then
    podman image exists "$APP_IMAGE" || fail "JQP_SMOKE_SKIP_BUILD=1 but there is no $APP_IMAGE"
    echo "   JQP_SMOKE_SKIP_BUILD=1: using the existing $APP_IMAGE"
  else
    build_images
  fi
  SIZE="$(podman image inspect --format '{{.Size}}' "$APP_IMAGE")"
  echo "   image $APP_IMAGE: $((SIZE / 1000 / 1000)) MB ($SIZE bytes)"

  phase "stack up (healthy)"
  compose down -v -t 5 >/dev/null 2>&1 || true # leftovers of an interrupted run
  start_health_ticker
  compose up -d --no-build >"$CACHE/up.log" 2>&1 || { cat "$CACHE/up.log" >&2; fail "podman-compose up"; }
  wait_healthy postgres proxy sim sim-postgres sim-proxy

  phase "checks: proxy (default service)"
  P="http://127.0.0.1:$JQP_PORT"
  expect "proxy /healthz" "$P/healthz" '"status":"ok"'
  expect "proxy /readyz" "$P/readyz" '"status":"ready"'
  MODE="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mode"])' "$BODY")"
  expect "proxy Swagger UI" "$P/docs" 'swagger-ui'
  if [[ "$MODE" == demo ]]; then
    data_checks "proxy (demo mode)" "$P"
  else
    echo "   proxy runs in $MODE mode (../.env has a key): data routes not probed"
  fi

  phase "checks: sim profile"
  S="http://127.0.0.1:$JQP_SIM_PROXY_PORT"
  expect "sim-proxy /healthz" "$S/healthz" '"status":"ok"'
  # The proxy does not need Postgres to start (its store connects lazily and recovers), and
  # podman-compose ignores health conditions with podman < 4.6, so allow it to catch up.
  expect_within 30 "sim-proxy /readyz: live, Postgres ok" "$S/readyz" '"mode":"live".*"postgres":"ok"|"postgres":"ok".*"mode":"live"'
  expect "sim-proxy Swagger UI" "$S/docs" 'swagger-ui'
  before="$(sim_total)"
  data_checks "sim-proxy" "$S"
  first="$(sim_total)"
  ((first > before)) || fail "the first answers did not reach the simulator ($before -> $first upstream calls)"
  ok "first answers cost $((first - before)) upstream call(s): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_path"])' "$BODY")"

  phase "restart: answers from Postgres"
  # (podman 4.3 complains on stderr that it cannot re-arm its systemd health timers.)
  quietly "podman restart sim-proxy" podman restart -t 10 "$(container_of sim-proxy)"
  wait_healthy sim-proxy
  data_checks "sim-proxy after restart" "$S"
  after="$(sim_total)"
  ((after == first)) || fail "after the restart the same answers cost $((after - first)) upstream call(s), expected 0"
  ok "after the restart: 0 upstream calls (simulator total stays $after)"
  phase_done
  echo "   image $APP_IMAGE: $((SIZE / 1000 / 1000)) MB"
}

main "$@"; exit # one line: bash must not read on into a file edited meanwhile

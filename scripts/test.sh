#!/usr/bin/env bash
# The project's one test command (README "Run it, test it"; stages: docs/testing.md): sets up a
# fresh machine, then runs formatting, lints, the Rust tests, the Python client and browser tests,
# the deployment checks, the contract tests, a soak and the compose smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL: tests use the local cluster (trust auth) and create their own schemas.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    for version_dir in /etc/postgresql/*/; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$version_dir")" main start || true
      break
    done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
# Benchmarks are compiled by clippy above and run by `cargo bench`, not here.
cargo test --locked --lib --bins --tests 2>&1 | tee /tmp/jqp-cargo-test.log
grep -q "test result: ok" /tmp/jqp-cargo-test.log

if [ -d tests/python ]; then
  echo "== python client tests"
  python3 -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  cargo build --locked --quiet
  JQP_BIN="$PWD/target/debug/jquants-proxy" python3 -m pytest -q tests/python
fi
if [ -d tests/browser ]; then
  echo "== browser tests (Swagger UI, margin page) in headless Chromium"
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  # A Japanese font, so the margin page's screenshot shows its labels (the page needs none).
  if [ ! -d /usr/share/fonts/opentype/ipafont-gothic ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipafont-gothic
  fi
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
  # The release build, as README's `cargo run --release -- serve`: the margin page's
  # acceptance (first cold visit under 10 s) is about what a user of the demo sees. About
  # 4 min on a fresh machine (measured 3 m 37 s, dependencies included).
  browser_start=$(date +%s)
  cargo build --release --locked --quiet
  JQP_BIN="$PWD/target/release/jquants-proxy" node --test tests/browser/ 2>&1 | tee /tmp/jqp-browser-test.log
  echo "== browser tests (release build included) took $(( $(date +%s) - browser_start )) s"
  grep -Eq '^(# |ℹ )pass [1-9]' /tmp/jqp-browser-test.log
  grep -Eq '^(# |ℹ )fail 0$' /tmp/jqp-browser-test.log
fi
if [ -x scripts/check-deploy.sh ]; then
  echo "== deployment files (static checks)"
  scripts/check-deploy.sh
fi
# ---- contract tests: OpenAPI truth, Schemathesis, a generated client, config errors.
# Own virtualenv under target/ so its pins never touch the Python client tests' packages.
# Bounded: 10 examples per operation, fixed seed; measured 93 s, plus 76 s for the 60 s soak.
if [ -d tests/contract ]; then
  echo "== contract tests (schemathesis, generated client, config errors)"
  contract_start=$(date +%s)
  venv=target/contract-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/contract/requirements.txt
  cargo build --locked --quiet
  JQP_BIN="$PWD/target/debug/jquants-proxy" "$venv/bin/python" -m pytest -q -s tests/contract
  echo "== contract tests took $(( $(date +%s) - contract_start )) s"
  # The soak test's CI version: 60 s of mixed load with faults (scripts/soak.sh for 10 minutes).
  soak_start=$(date +%s)
  JQP_BIN="$PWD/target/debug/jquants-proxy" scripts/soak.sh 60
  echo "== soak (60 s) took $(( $(date +%s) - soak_start )) s"
fi
# --- compose smoke test: build the image, start docker/compose.yaml, probe it ---
if [ -x scripts/compose-smoke.sh ] && [ "${JQP_SKIP_COMPOSE_SMOKE:-0}" != 1 ]; then
  echo "== compose smoke test (image build + stack; podman)"
  smoke_t0=$SECONDS
  scripts/compose-smoke.sh
  echo "   compose smoke test: $((SECONDS - smoke_t0))s"
fi
echo "== all checks passed"

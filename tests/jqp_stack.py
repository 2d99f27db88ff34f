"""Starting the built binary for the Python test suites (tests/python, tests/contract): the
simulator (`sim`, the upstream) and the proxy (`serve`) in front of it. JQP_BIN names the binary
(scripts/test.sh sets it to the debug build). Each suite puts this folder on sys.path."""

import contextlib
import os
import socket
import subprocess
import time

import requests


def binary() -> str:
    return os.environ.get("JQP_BIN", "target/debug/jquants-proxy")


def clean_env() -> dict:
    """The environment without any of the proxy's own settings (the test sets them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("JQUANTS_", "JQP_", "JQSIM_", "DATABASE_URL"))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def sim_and_proxy(sim_key: str, client_keys: dict, issues: int, sim_args: tuple = (), admin_key: str | None = None):
    """Runs a premium simulator with `issues` issues (plus `sim_args`, e.g.
    `("--bulk-bare-integers",)`) and the proxy in front of it, which accepts `client_keys`
    (name -> key) and, if given, `admin_key` on `/admin/*`; yields (sim base URL, proxy base
    URL)."""
    sim_port, proxy_port = free_port(), free_port()
    env = clean_env()
    sim = subprocess.Popen(
        [binary(), "sim", "--listen", f"127.0.0.1:{sim_port}", "--api-key", sim_key, "--plan", "premium", "--issues", str(issues), *sim_args],
        env=env,
    )
    proxy_env = dict(env)
    proxy_env.update(
        JQUANTS_API_KEY=sim_key,
        JQUANTS_BASE_URL=f"http://127.0.0.1:{sim_port}/v2",
        JQUANTS_PLAN="premium",
        JQP_CLIENT_KEYS=",".join(f"{n}:{k}" for n, k in client_keys.items()),
    )
    if admin_key is not None:
        proxy_env["JQP_ADMIN_KEY"] = admin_key
    proxy = subprocess.Popen([binary(), "serve", "--listen", f"127.0.0.1:{proxy_port}"], env=proxy_env)
    try:
        wait_for(f"http://127.0.0.1:{sim_port}/__sim/stats")
        wait_for(f"http://127.0.0.1:{proxy_port}/healthz")
        yield f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{proxy_port}"
    finally:
        for p in (proxy, sim):
            p.terminate()
        for p in (proxy, sim):
            p.wait(timeout=20)

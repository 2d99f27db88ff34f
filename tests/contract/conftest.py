"""The stack the contract tests run against: the built binary's simulator (`sim`, the
upstream) and the proxy (`serve`) in front of it, with two client keys. JQP_BIN names the
binary (scripts/test.sh sets it to the debug build)."""

import sys
from pathlib import Path

import pytest

# tests/: the stack starter shared with the Python client tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jqp_stack import binary, clean_env, free_port, sim_and_proxy  # noqa: E402,F401  (re-exported)

SIM_KEY = "contract-sim-key-1234"
CLIENT_KEYS = {"alpha": "contract-alpha-key-5678", "beta": "contract-beta-key-9012"}


@pytest.fixture(scope="session")
def stack():
    """(sim base URL, proxy base URL)."""
    with sim_and_proxy(SIM_KEY, CLIENT_KEYS, issues=200) as urls:
        yield urls

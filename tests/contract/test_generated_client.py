"""A client generated from the checked-in openapi/openapi.json by a maintained generator
(openapi-python-client, PyPI) reads the proxy's answers into typed models: the document is
a contract a generated client can rely on, not only a description.

The client is generated into a temporary directory at test time, so a change to the document
that breaks generation or parsing fails here."""

import importlib
import os
import pathlib
import subprocess
import sys

import pytest
import requests

from conftest import CLIENT_KEYS, SIM_KEY

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "jqp_client"
    bindir = pathlib.Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(
        [str(bindir / "openapi-python-client"), "generate", "--path", str(ROOT / "openapi/openapi.json"),
         "--meta", "none", "--output-path", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(out.parent))
    yield importlib.import_module("jqp_client")
    sys.path.remove(str(out.parent))


def sim_json(sim: str, path_and_query: str) -> dict:
    r = requests.get(f"{sim}/v2{path_and_query}", headers={"x-api-key": SIM_KEY}, timeout=60)
    r.raise_for_status()
    return r.json()


def call(generated, stack, module: str, **params):
    _, proxy = stack
    client_mod = importlib.import_module("jqp_client.client")
    api = importlib.import_module(f"jqp_client.api.mirror.{module}")
    client = client_mod.AuthenticatedClient(
        base_url=proxy, token=CLIENT_KEYS["beta"], prefix="", auth_header_name="x-api-key", timeout=120
    )
    resp = api.sync_detailed(client=client, **params)
    assert resp.status_code == 200, resp.content[:300]
    return resp.parsed


def test_daily_bars_parse_into_typed_rows_equal_to_the_upstreams(generated, stack):
    sim, _ = stack
    parsed = call(generated, stack, "mirror_eq_bars_daily", code="7203", from_="2026-11-02", to="2026-11-20")
    want = sim_json(sim, "/equities/bars/daily?code=7203&from=2026-11-02&to=2026-11-20")["data"]
    assert len(parsed.data) == len(want) > 5
    for row, raw in zip(parsed.data, want):
        assert (row.date, row.code, row.c, row.adj_factor, row.ul) == (raw["Date"], raw["Code"], raw["C"], raw["AdjFactor"], raw["UL"])


def test_statement_figures_arrive_as_the_upstreams_decimal_strings(generated, stack):
    sim, _ = stack
    parsed = call(generated, stack, "mirror_fin_summary", code="7203")
    want = sim_json(sim, "/fins/summary?code=7203")["data"]
    assert [r.disc_no for r in parsed.data] == [r["DiscNo"] for r in want]
    assert [r.sales for r in parsed.data] == [r["Sales"] for r in want]
    assert all(isinstance(r.sales, str) for r in parsed.data)


def test_margin_interest_keeps_its_sixteen_keys_with_null_values(generated, stack):
    sim, _ = stack
    parsed = call(generated, stack, "mirror_mkt_margin_int", code="7203")
    want = sim_json(sim, "/markets/margin-interest?code=7203")["data"]
    assert [(r.date, r.long_vol, r.long_val) for r in parsed.data] == [(r["Date"], r["LongVol"], r["LongVal"]) for r in want]
    assert len(parsed.data[0].to_dict()) == 16


def test_object_answers_and_nested_values_parse(generated, stack):
    td = call(generated, stack, "mirror_td_bulk")
    assert td.url.startswith("http") and td.last_updated
    edinet = call(generated, stack, "mirror_edinet_major_shareholders", code="7203")
    assert edinet.data and all(isinstance(r.hldrs, list) and r.hldrs for r in edinet.data)

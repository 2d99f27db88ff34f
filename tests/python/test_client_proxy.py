"""The official Python client (jquants-api-client, ClientV2) gets the same DataFrames from
the proxy as from the upstream (the simulator) directly: changing only the base URL is enough.

Starts the built binary twice: `sim` (the upstream) and `serve` in front of it. JQP_BIN names
the binary (scripts/test.sh sets it).
"""

import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

import jquantsapi

# tests/: the stack starter shared with the contract tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jqp_stack import sim_and_proxy  # noqa: E402

SIM_KEY = "py-sim-key-1234"
CLIENT_KEY = "py-client-key-5678"


@pytest.fixture(scope="module")
def servers():
    with sim_and_proxy(SIM_KEY, {"python": CLIENT_KEY}, issues=300) as urls:
        yield urls


def client(base: str, key: str) -> jquantsapi.ClientV2:
    c = jquantsapi.ClientV2(api_key=key)
    c.JQUANTS_API_BASE = f"{base}/v2"
    return c


# (method, kwargs): every data method of ClientV2 that reads a single request's answer.
CALLS = [
    ("get_eq_master", {}),
    ("get_eq_master", {"code": "7203"}),
    ("get_list", {"date_yyyymmdd": "20261119"}),
    ("get_eq_bars_daily", {"code": "7203", "from_yyyymmdd": "20260101", "to_yyyymmdd": "20261120"}),
    ("get_eq_bars_daily", {"date_yyyymmdd": "20261119"}),
    ("get_eq_bars_daily", {"code": "3350"}),
    ("get_eq_valuation", {"code": "7203", "date_yyyymmdd": "20261119"}),
    ("get_eq_bars_daily_am", {"code": "7203"}),
    ("get_eq_bars_minute", {"code": "7203", "date_yyyymmdd": "20261119"}),
    ("get_eq_investor_types", {}),
    ("get_fin_summary", {"code": "3350"}),
    ("get_fin_summary", {"date_yyyymmdd": "20250514"}),
    ("get_fin_details", {"code": "7203"}),
    ("get_fin_dividend", {"code": "7203"}),
    ("get_fin_earnings_date", {"code": "7203"}),
    ("get_eq_earnings_cal", {}),
    ("get_mkt_short_ratio", {"date_yyyymmdd": "20261119"}),
    ("get_mkt_short_sale_report", {"code": "7203"}),
    ("get_mkt_margin_interest", {"code": "7203"}),
    ("get_mkt_margin_interest", {"date_yyyymmdd": "20261113"}),
    ("get_mkt_margin_alert", {"code": "7203"}),
    ("get_mkt_breakdown", {"code": "7203", "date_yyyymmdd": "20261119"}),
    ("get_mkt_calendar", {}),
    ("get_mkt_calendar", {"holiday_division": "0", "from_yyyymmdd": "20260101", "to_yyyymmdd": "20261231"}),
    ("get_idx_bars_daily", {"code": "0000"}),
    ("get_idx_bars_daily_topix", {"from_yyyymmdd": "20260101", "to_yyyymmdd": "20261120"}),
    ("get_drv_bars_daily_fut", {"date_yyyymmdd": "20261119"}),
    ("get_drv_bars_daily_opt", {"date_yyyymmdd": "20261119"}),
    ("get_drv_bars_daily_opt_225", {"date_yyyymmdd": "20261119"}),
    ("get_bulk_list", {"endpoint": "/equities/bars/daily"}),
    ("get_edinet_major_shareholders", {"code": "7203"}),
    ("get_edinet_cross_shareholdings", {"code": "7203"}),
    ("get_edinet_large_volume_shareholders", {"code": "7203"}),
    ("get_td_list", {"code": "7203", "from_date": "20260101", "to_date": "20261120"}),
    ("get_td_bulk", {}),
]


def same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("method,kwargs", CALLS, ids=[f"{m}({','.join(k)})" for m, k in CALLS])
def test_same_dataframes_through_the_proxy(servers, method, kwargs):
    sim_base, proxy_base = servers
    direct = getattr(client(sim_base, SIM_KEY), method)(**kwargs)
    proxied = getattr(client(proxy_base, CLIENT_KEY), method)(**kwargs)
    same(direct, proxied)
    if isinstance(direct, pd.DataFrame):
        assert list(direct.columns) == list(proxied.columns)


def test_repeats_are_served_from_cache(servers):
    sim_base, proxy_base = servers
    c = client(proxy_base, CLIENT_KEY)
    before = requests.get(f"{sim_base}/__sim/stats").json()["total"]
    for _ in range(3):
        df = c.get_eq_bars_daily(code="7203", from_yyyymmdd="20260101", to_yyyymmdd="20261120")
        assert not df.empty
    after = requests.get(f"{sim_base}/__sim/stats").json()["total"]
    assert after - before <= 1


def test_wrong_client_key_is_the_upstream_error(servers):
    _, proxy_base = servers
    with pytest.raises(requests.HTTPError) as e:
        client(proxy_base, "not-a-client-key").get_mkt_calendar()
    assert "The incoming api key is invalid or expired." in str(e.value)

"""The market row store through the official client: `get_eq_bars_daily_range` over a year
asks for every calendar day; through the proxy it costs exactly the business days (weekends
and holidays are answered from the trading calendar), and nothing on repeat.

Starts the built binary twice: `sim` (the upstream) and `serve` in front of it. JQP_BIN names
the binary (scripts/test.sh sets it).
"""

import requests

import jquantsapi
from test_client_proxy import CLIENT_KEY, SIM_KEY, servers  # noqa: F401  (fixture)


def bars_calls(sim: str) -> int:
    return requests.get(f"{sim}/__sim/stats", timeout=10).json()["by_path"].get("/equities/bars/daily", 0)


def test_a_year_of_daily_bars_costs_the_business_days_then_nothing(servers):  # noqa: F811
    sim, proxy = servers
    days = requests.get(
        f"{sim}/v2/markets/calendar",
        params={"from": "2025-01-01", "to": "2025-12-31"},
        headers={"x-api-key": SIM_KEY},
        timeout=30,
    ).json()["data"]
    business = sum(1 for d in days if d["HolDiv"] in ("1", "2"))
    assert 240 <= business <= 250, business
    client = jquantsapi.ClientV2(api_key=CLIENT_KEY)
    client.JQUANTS_API_BASE = f"{proxy}/v2"
    before = bars_calls(sim)
    first = client.get_eq_bars_daily_range(start_dt="2025-01-01", end_dt="2025-12-31")
    assert bars_calls(sim) - before == business
    assert first["Date"].nunique() == business
    again = client.get_eq_bars_daily_range(start_dt="2025-01-01", end_dt="2025-12-31")
    assert bars_calls(sim) - before == business, "the repeat reached the upstream"
    assert again.equals(first)

"""The market row store and the bulk tier through the official client:
`get_eq_bars_daily_range` asks for every calendar day of a range, five at a time. Through the
proxy, a day of a past month makes it take the month's bulk file (the listing, the file, and
the day itself from the API to compare with the file's rows), so a month costs at most three
upstream calls and the rest of its days nothing, with answers byte-identical to the
upstream's. When the file's CSV spells numbers differently from the API's JSON, the proxy does
not trust it: the days come from date cross-sections (still the upstream's bytes) and the
admin stats say why.

Starts the built binary twice per stack: `sim` (the upstream) and `serve` in front of it.
JQP_BIN names the binary (scripts/test.sh sets it).
"""

import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

import jquantsapi
from test_client_proxy import CLIENT_KEY, SIM_KEY, client, servers  # noqa: F401  (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jqp_stack import sim_and_proxy  # noqa: E402

ADMIN_KEY = "py-admin-key-9012"
MONTH = ("2026-10-01", "2026-10-31")
YEAR = ("2025-01-01", "2025-12-31")
BARS = "/equities/bars/daily"


@pytest.fixture(scope="module")
def bare_integer_servers():
    """A stack whose simulator writes whole numbers in bulk CSV without `.0` (the JSON has
    `1807.0`), with the admin routes open to ADMIN_KEY."""
    with sim_and_proxy(
        SIM_KEY,
        {"python": CLIENT_KEY},
        issues=300,
        sim_args=("--bulk-bare-integers",),
        admin_key=ADMIN_KEY,
    ) as urls:
        yield urls


def sim_stats(sim: str) -> dict:
    return requests.get(f"{sim}/__sim/stats", timeout=10).json()


def upstream_calls(sim: str) -> int:
    """Every `/v2` call the simulator has answered (files from its file host are not calls)."""
    return sim_stats(sim)["total"]


def business_days(sim: str, start: str, end: str) -> list:
    days = requests.get(
        f"{sim}/v2/markets/calendar",
        params={"from": start, "to": end},
        headers={"x-api-key": SIM_KEY},
        timeout=30,
    ).json()["data"]
    return [d["Date"] for d in days if d["HolDiv"] in ("1", "2")]


def through_proxy(sim: str, proxy: str, start: str, end: str):
    """The client's range through the proxy, and the upstream calls it cost."""
    before = upstream_calls(sim)
    df = client(proxy, CLIENT_KEY).get_eq_bars_daily_range(start_dt=start, end_dt=end)
    return df, upstream_calls(sim) - before


def assert_same_bodies(sim: str, proxy: str, start: str, end: str) -> None:
    """Each calendar day's raw `date=` answer is the simulator's, byte for byte."""
    for day in pd.date_range(start, end, freq="D").strftime("%Y-%m-%d"):
        ours = requests.get(f"{proxy}/v2{BARS}", params={"date": day}, headers={"x-api-key": CLIENT_KEY}, timeout=60)
        theirs = requests.get(f"{sim}/v2{BARS}", params={"date": day}, headers={"x-api-key": SIM_KEY}, timeout=60)
        assert ours.status_code == theirs.status_code == 200, day
        assert ours.content == theirs.content, f"{day}: the proxy's body differs from the upstream's"


def test_a_month_cold_costs_at_most_three_calls_then_nothing(servers):  # noqa: F811
    sim, proxy = servers
    business = business_days(sim, *MONTH)
    assert 18 <= len(business) <= 23, business
    first, cost = through_proxy(sim, proxy, *MONTH)
    print(f"\na month ({len(business)} business days) cold through the proxy: {cost} upstream calls")
    # The listing, the month's file, and the first requested day to compare the file with.
    assert cost <= 3, f"{cost} calls (day by day it would be {len(business)})"
    assert sorted(first["Date"].astype(str).str[:10].unique()) == business
    direct = client(sim, SIM_KEY).get_eq_bars_daily_range(start_dt=MONTH[0], end_dt=MONTH[1])
    pd.testing.assert_frame_equal(first, direct, check_exact=True)
    again, cost = through_proxy(sim, proxy, *MONTH)
    assert cost == 0, "the repeat reached the upstream"
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    before = upstream_calls(sim)
    assert_same_bodies(sim, proxy, *MONTH)
    # Only the test's own direct calls to the simulator: one per calendar day.
    assert upstream_calls(sim) - before == len(pd.date_range(*MONTH, freq="D"))


def test_a_year_costs_its_files_not_its_business_days(servers):  # noqa: F811
    sim, proxy = servers
    business = business_days(sim, *YEAR)
    assert 240 <= len(business) <= 250, len(business)
    stats = sim_stats(sim)
    gets_before = stats["by_path"].get("/bulk/get", 0)
    first, cost = through_proxy(sim, proxy, *YEAR)
    gets = sim_stats(sim)["by_path"].get("/bulk/get", 0) - gets_before
    print(f"\na year ({len(business)} business days) cold through the proxy: {cost} upstream calls ({gets} files)")
    assert gets == 12, "one file per month"
    # Twelve files (after the month test, exactly that: its listing is fresh and the dataset
    # already proved identical); run alone, the listing and the comparison besides.
    assert cost <= 1 + 12 + 1, f"{cost} calls (day by day it would be {len(business)})"
    assert sorted(first["Date"].astype(str).str[:10].unique()) == business
    again, cost = through_proxy(sim, proxy, *YEAR)
    assert cost == 0, "the repeat reached the upstream"
    pd.testing.assert_frame_equal(again, first, check_exact=True)


def test_a_file_spelled_unlike_the_api_is_not_trusted(bare_integer_servers):
    sim, proxy = bare_integer_servers
    business = business_days(sim, *MONTH)
    first, cost = through_proxy(sim, proxy, *MONTH)
    stats = sim_stats(sim)
    print(f"\na month with bare-integer files, cold through the proxy: {cost} upstream calls")
    # The listing and the file, found different on the first day asked; then every business
    # day is a cross-section (the first is the comparison's) and the closed days need the
    # trading calendar.
    assert stats["by_path"].get("/bulk/get", 0) == 1
    assert len(business) <= cost <= 2 + len(business) + 1, cost
    direct = client(sim, SIM_KEY).get_eq_bars_daily_range(start_dt=MONTH[0], end_dt=MONTH[1])
    pd.testing.assert_frame_equal(first, direct, check_exact=True)
    assert_same_bodies(sim, proxy, *MONTH)
    r = requests.get(f"{proxy}/admin/stats", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    assert r.status_code == 200, r.text
    trust = r.json()["bulk"]["datasets"][BARS]["trust"]
    assert trust["state"] == "differs", trust
    assert trust["difference"]["field"], trust
    assert trust["difference"]["api"] != trust["difference"]["file"], trust
    print(f"why bulk was not trusted: {trust}")

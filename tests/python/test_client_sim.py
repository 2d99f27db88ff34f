"""The official Python client (jquants-api-client, ClientV2) against the simulator binary.

Every public ``get_*`` method (and the bulk downloads) is called with sensible arguments;
the client selects fixed column lists and raises on a missing key, so a clean run shows
the simulator's responses have the shape the client expects.

Run: ``cargo build && pip install -r tests/python/requirements.txt && pytest tests/python``
(``JQSIM_BIN`` overrides the binary path).
"""

import os
import socket
import subprocess
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from jquantsapi import ClientV2

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("JQSIM_BIN", ROOT / "target" / "debug" / "jquants-proxy"))
KEY = "py-test-key"
# The simulator's data clock is pinned so the expectations below hold on any day:
# Friday 2026-11-20, 20:00 JST (that day's bars are published).
NOW = "2026-11-20T11:00:00Z"
LAST_CLOSE = date(2026, 11, 20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    if not BIN.exists():
        pytest.skip(f"{BIN} not built (cargo build)")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN),
            "sim",
            "--listen",
            f"127.0.0.1:{port}",
            "--api-key",
            KEY,
            "--issues",
            "300",
            "--now",
            NOW,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/__sim/stats", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("simulator did not start")
    yield f"{url}/v2"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cli(base_url):
    c = ClientV2(api_key=KEY)
    c.JQUANTS_API_BASE = base_url
    return c


def last_business_day() -> date:
    return LAST_CLOSE


def ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def recent_range(days: int = 14):
    end = last_business_day()
    return ymd(end - timedelta(days=days)), ymd(end)


def nonempty(df: pd.DataFrame) -> pd.DataFrame:
    assert isinstance(df, pd.DataFrame)
    assert not df.empty
    return df


def test_master_and_reference_tables(cli):
    df = nonempty(cli.get_eq_master())
    assert {"Code", "CoName", "S33", "Mkt"} <= set(df.columns)
    assert (nonempty(cli.get_eq_master(code="7203"))["Code"] == "72030").all()
    nonempty(cli.get_list())
    # Static tables bundled in the client (no request), still part of the public API.
    nonempty(cli.get_market_segments())
    nonempty(cli.get_17_sectors())
    nonempty(cli.get_33_sectors())


def test_daily_bars_valuation_and_ranges(cli):
    f, t = recent_range()
    df = nonempty(cli.get_eq_bars_daily(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    assert (df["Code"] == "72030").all()
    nonempty(cli.get_eq_bars_daily(code="3350", from_yyyymmdd="20250325", to_yyyymmdd="20250401"))
    nonempty(cli.get_eq_bars_daily_range(start_dt=f, end_dt=t))
    nonempty(cli.get_eq_valuation(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_eq_valuation_range(start_dt=f, end_dt=t))
    nonempty(cli.get_eq_bars_daily_am(code="7203"))


def test_minute_bars(cli):
    f, t = recent_range(7)
    nonempty(cli.get_eq_bars_minute(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_eq_bars_5minute(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_eq_bars_15minute(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))


def test_statements(cli):
    df = nonempty(cli.get_fin_summary(code="3350"))
    shares = df.set_index("DiscDate")["ShOutFY"]
    assert "36268334" in set(shares.astype(str)) or 36268334 in set(shares)
    # /fins/* share a 60-per-minute cap on every plan (the client does not retry a 429),
    # so the ranges here stay short.
    f, t = recent_range(10)
    nonempty(cli.get_fin_summary_range(start_dt=f, end_dt=t))
    df, cursor = cli.get_fin_summary_cursor(code="7203")
    nonempty(df)
    assert cursor
    nonempty(cli.get_fin_details(code="7203"))
    nonempty(cli.get_fin_details_range(start_dt=f, end_dt=t))
    df, cursor = cli.get_fin_details_cursor(code="7203")
    nonempty(df)
    nonempty(cli.get_fin_dividend(code="8697"))
    nonempty(cli.get_fin_earnings_date(code="7203"))
    # Schedules are published ~25 days ahead; mid-November is a quiet stretch.
    f45, _ = recent_range(45)
    nonempty(cli.get_fin_earnings_date_range(start_dt=f45, end_dt=t))
    # The calendar lists the next business day (Tuesday 2026-11-24, after a holiday).
    cal = nonempty(cli.get_eq_earnings_cal())
    assert (cal["Date"].astype(str) == "2026-11-24").all()


def test_markets(cli):
    f, t = recent_range(30)
    nonempty(cli.get_eq_investor_types(from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_mkt_short_ratio(sector_33_code="0050", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_mkt_short_ratio_range(start_dt=f, end_dt=t))
    nonempty(cli.get_mkt_short_sale_report(disclosed_date_from=f, disclosed_date_to=t, code="7203"))
    nonempty(cli.get_mkt_short_sale_report_range(start_dt=f, end_dt=t))
    df = nonempty(cli.get_mkt_margin_interest(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    assert {"ShrtVol", "LongVol", "PubDate"} <= set(df.columns)
    nonempty(cli.get_mkt_margin_interest_range(start_dt=f, end_dt=t))
    # Margin alerts cover ~1% of issues a day: a month of the whole market has some.
    nonempty(cli.get_mkt_margin_alert_range(start_dt=f, end_dt=t))
    nonempty(cli.get_mkt_margin_alert(date_yyyymmdd=t))
    nonempty(cli.get_mkt_breakdown(code="7203", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_mkt_breakdown_range(start_dt=f, end_dt=t))
    df = nonempty(cli.get_mkt_calendar(from_yyyymmdd="20260901", to_yyyymmdd="20260930"))
    assert df.set_index("Date").loc["2026-09-22", "HolDiv"] in ("3", 3)


def test_indices_and_derivatives(cli):
    f, t = recent_range()
    nonempty(cli.get_idx_bars_daily(code="0000", from_yyyymmdd=f, to_yyyymmdd=t))
    nonempty(cli.get_idx_bars_daily_topix(from_yyyymmdd=f, to_yyyymmdd=t))
    # Derivatives are published ~03:00 the next day: use a day a week back.
    d = ymd(last_business_day() - timedelta(days=7))
    nonempty(cli.get_drv_bars_daily_fut(date_yyyymmdd=d))
    nonempty(cli.get_drv_bars_daily_opt(date_yyyymmdd=d))
    nonempty(cli.get_drv_bars_daily_opt_225(date_yyyymmdd=d))
    f2 = ymd(last_business_day() - timedelta(days=10))
    nonempty(cli.get_drv_bars_daily_fut_range(start_dt=f2, end_dt=d))
    nonempty(cli.get_drv_bars_daily_opt_range(start_dt=f2, end_dt=d))
    nonempty(cli.get_drv_bars_daily_opt_225_range(start_dt=f2, end_dt=d))


def test_bulk(cli, tmp_path):
    df = nonempty(cli.get_bulk_list(endpoint="/equities/bars/daily"))
    key = df["Key"].iloc[0]
    url = cli.get_bulk(key=key)
    assert url.startswith("http")
    url2 = cli.get_bulk(endpoint="/equities/bars/daily", date="202410")
    assert url2.startswith("http")
    out = tmp_path / "a.csv.gz"
    cli.download_bulk(key=key, output_path=str(out))
    assert out.stat().st_size > 0
    out2 = tmp_path / "b.csv.gz"
    cli.download_bulk_by_endpoint(endpoint="/equities/bars/daily", date="202410", output_path=str(out2))
    assert out2.stat().st_size > 0


def test_tdnet_and_edinet(cli):
    df, _cursor = cli.get_td_list(code="7203")
    nonempty(df)
    disc_no = str(df["DiscNo"].iloc[0])
    files = cli.get_td_files(disc_no=disc_no)
    assert files["discNo"] == disc_no
    assert set(files["files"]) == {"g", "s", "x"}
    assert set(cli.get_td_files(disc_no=disc_no, docs="g")["files"]) == {"g"}
    bulk = cli.get_td_bulk()
    assert "url" in bulk
    nonempty(cli.get_edinet_major_shareholders(code="7203"))
    nonempty(cli.get_edinet_cross_shareholdings(code="7203"))
    nonempty(cli.get_edinet_large_volume_shareholders(code="7203"))


def test_errors_surface_as_exceptions(base_url):
    bad = ClientV2(api_key="wrong")
    bad.JQUANTS_API_BASE = base_url
    with pytest.raises(Exception):
        bad.get_eq_master()

"""Macro features: joined as of publication, never by observation date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.macro import RELEASE_LAGS, VIX_Z_SESSIONS, macro_features

ALL_COLUMNS = ["macro_dgs10", "macro_dgs10_chg_20d", "macro_t10y2y", "macro_t10y2y_chg_20d",
               "macro_vix", "macro_vix_z_252", "macro_cpi_yoy", "macro_unrate",
               "macro_unrate_chg_3m"]


@pytest.fixture
def synthetic_macro(synthetic_market) -> pd.DataFrame:
    s = synthetic_market.sessions
    return synthetic_market.series(list(RELEASE_LAGS), s[0], s[-1]).data


def monthly(series: str, values: list[float], start: str = "2023-01-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"series": series, "date": dates, "value": values})


def test_monthly_series_wait_for_their_release():
    cpi = monthly("CPIAUCSL", [100.0 + i for i in range(15)], "2022-12-01")  # .. Feb 2024
    sessions = pd.bdate_range("2024-01-02", "2024-03-29")
    feats = macro_features(cpi, sessions).set_index("date")["macro_cpi_yoy"]
    # Jan 2024 CPI (dated 2024-01-01) is published from Feb 16: Dec 2023's yoy before that.
    dec, jan = 112.0 / 100.0 - 1, 113.0 / 101.0 - 1
    assert feats["2024-02-15"] == pytest.approx(dec, rel=1e-6)
    assert feats["2024-02-16"] == pytest.approx(jan, rel=1e-6)
    assert feats["2024-03-15"] == pytest.approx(jan, rel=1e-6)
    assert feats["2024-03-18"] == pytest.approx(114.0 / 102.0 - 1, rel=1e-6)
    unrate = monthly("UNRATE", [3.5, 3.6, 3.9, 4.1])  # Jan .. Apr 2023
    u = macro_features(unrate, pd.bdate_range("2023-04-03", "2023-05-31")).set_index("date")
    assert u.loc["2023-04-07", "macro_unrate"] == pytest.approx(3.6)  # Mar not out until 10th
    assert u.loc["2023-04-10", "macro_unrate"] == pytest.approx(3.9)
    assert u.loc["2023-05-10", "macro_unrate_chg_3m"] == pytest.approx(4.1 - 3.5)
    assert np.isnan(u.loc["2023-04-10", "macro_unrate_chg_3m"])


def test_daily_series_are_used_from_the_next_session():
    days = pd.bdate_range("2024-03-04", periods=30)
    dgs = pd.DataFrame({"series": "DGS10", "date": days, "value": np.arange(30.0)})
    dgs.loc[5, "value"] = np.nan  # a FRED holiday blank: the previous value carries on
    f = macro_features(dgs, days)
    want = np.r_[np.nan, np.arange(29.0)]
    want[6] = 4.0
    np.testing.assert_array_equal(f["macro_dgs10"], want.astype(np.float32))
    np.testing.assert_allclose(f["macro_dgs10_chg_20d"].iloc[21:], want[21:] - want[1:10])


def test_features_at_t_use_only_values_published_by_t(synthetic_macro, synthetic_market):
    sessions = synthetic_market.sessions
    full = macro_features(synthetic_macro, sessions)
    t = sessions[len(sessions) // 2]
    keep = np.zeros(len(synthetic_macro), dtype=bool)
    for series, lag in RELEASE_LAGS.items():
        rows = (synthetic_macro["series"] == series).to_numpy()
        published = pd.DatetimeIndex(synthetic_macro["date"]) + lag
        keep |= rows & (published <= t)
    cut = macro_features(synthetic_macro[keep], sessions)
    upto = (full["date"] <= t).to_numpy()
    assert list(full.columns) == ["date", *ALL_COLUMNS]
    pd.testing.assert_frame_equal(full[upto], cut[upto])
    assert not full[~upto].equals(cut[~upto])


def test_vix_zscore_matches_pandas(synthetic_macro, synthetic_market):
    sessions = synthetic_market.sessions
    f = macro_features(synthetic_macro, sessions)
    lvl = f["macro_vix"].astype(np.float64)
    want = (lvl - lvl.rolling(VIX_Z_SESSIONS).mean()) / lvl.rolling(VIX_Z_SESSIONS).std()
    np.testing.assert_allclose(f["macro_vix_z_252"], want, rtol=1e-4, atol=1e-5)
    assert f["macro_vix_z_252"].iloc[VIX_Z_SESSIONS:].notna().all()


@pytest.mark.parametrize("keep", [[], ["VIXCLS"], ["UNRATE", "DGS10", "OTHER"]])
def test_any_subset_of_series(synthetic_macro, synthetic_market, keep):
    other = pd.DataFrame({"series": "OTHER", "date": synthetic_market.sessions, "value": 1.0})
    macro = pd.concat([synthetic_macro, other])
    f = macro_features(macro[macro["series"].isin(keep)], synthetic_market.sessions)
    assert len(f) == len(synthetic_market.sessions)
    assert all(c.startswith("macro_") for c in f.columns[1:])
    assert {c.split("_")[1] for c in f.columns[1:]} == {
        {"VIXCLS": "vix", "UNRATE": "unrate", "DGS10": "dgs10"}[s] for s in keep if s != "OTHER"}
    assert list(macro_features(None, synthetic_market.sessions).columns) == ["date"]


def test_real_fred_cpi_is_published_mid_next_month(shared_data):
    cpi = pd.read_csv(shared_data / "fred" / "CPIAUCSL.csv", parse_dates=["date"])
    cpi["series"] = "CPIAUCSL"
    f = macro_features(cpi, pd.DatetimeIndex(["2015-02-13", "2015-02-17"])).set_index("date")
    obs = cpi.set_index("date")["value"]
    dec = obs["2014-12-01"] / obs["2013-12-01"] - 1
    jan = obs["2015-01-01"] / obs["2014-01-01"] - 1
    assert f.loc["2015-02-13", "macro_cpi_yoy"] == pytest.approx(dec, rel=1e-5)
    assert f.loc["2015-02-17", "macro_cpi_yoy"] == pytest.approx(jan, rel=1e-5)

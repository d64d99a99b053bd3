"""The portfolio step: excess forecasts, the cost bar, the hold band and the screen's
counts (aion_core/bots/construction.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from aion_core.bots.construction import entry_bar, round_trip_cost, select
from aion_core.bots.signals import generate_orders
from aion_core.bots.swing import fresh_state
from aion_core.knobs.schema import effective_knobs

KNOBS = effective_knobs({}, "swing", "1w")
SESSION = pd.Timestamp("2024-03-04")


def market(n: int = 60, seed: int = 4) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Forecasts = a planted cross-sectional signal (bp of spread) + the market's drift."""
    rng = np.random.default_rng(seed)
    syms = [f"N{i:02d}" for i in range(n)]
    signal = pd.Series(rng.normal(0, 0.004, n), index=syms)
    prices = pd.Series(rng.uniform(20, 300, n), index=syms)
    conf = pd.Series(rng.uniform(0.45, 0.6, n), index=syms)
    return signal, prices, conf


def frame(forecast: pd.Series, conf: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"expected_return": forecast, "confidence": conf})


@pytest.mark.parametrize("drift", [0.03, -0.03])
def test_a_strong_market_drift_up_or_down_changes_no_entry(drift):
    signal, prices, conf = market()
    state = fresh_state("b", 100_000)
    plain = generate_orders(frame(signal, conf), state, KNOBS, prices, SESSION).orders
    drifted = generate_orders(frame(signal + drift, conf), state, KNOBS, prices, SESSION).orders
    assert plain and [(o.symbol, o.qty) for o in drifted] == [(o.symbol, o.qty) for o in plain]


def test_the_bar_is_in_round_trips_so_dearer_costs_raise_it():
    signal, prices, conf = market()
    dear = replace(KNOBS, fee_bps=KNOBS.fee_bps * 2, slippage_bps=KNOBS.slippage_bps * 2)
    assert round_trip_cost(dear) == pytest.approx(2 * round_trip_cost(KNOBS))
    assert entry_bar(dear) == pytest.approx(2 * entry_bar(KNOBS))
    # a spread the cheap bot trades is below the dear one's bar
    small = signal / signal.abs().max() * 1.5 * entry_bar(KNOBS)
    state = fresh_state("b", 100_000)
    assert generate_orders(frame(small, conf), state, KNOBS, prices, SESSION).orders
    assert generate_orders(frame(small, conf), state, dear, prices, SESSION).orders == []


def _walk(knobs, sessions: int = 40) -> int:
    """Trades over `sessions` of a market where one name swings between rank 4 and rank 7
    around a top-5 cut-off, the others fixed."""
    n = 30
    syms = [f"N{i:02d}" for i in range(n)]
    base = pd.Series(np.linspace(0.05, -0.05, n), index=syms)
    prices = pd.Series(100.0, index=syms)
    conf = pd.Series(0.5, index=syms)
    state, trades = fresh_state("b", 100_000), 0
    for t in range(sessions):
        forecast = base.copy()
        forecast["N20"] = base.iloc[3] + 1e-4 if t % 2 == 0 else base.iloc[6] - 1e-4
        orders = generate_orders(frame(forecast, conf), state, knobs, prices, SESSION).orders
        trades += sum(o.symbol == "N20" for o in orders)
        for o in orders:  # fill at the decision price
            qty = o.qty if o.side == "buy" else -o.qty
            pos = state["positions"].get(o.symbol, {"qty": 0, "avg_price": 100.0,
                                                     "entry_date": "2024-03-01",
                                                     "last_price": 100.0})
            pos = {**pos, "qty": pos["qty"] + qty}
            state["cash"] -= qty * o.ref_price
            state["positions"] = {**state["positions"], o.symbol: pos}
            if pos["qty"] == 0:
                del state["positions"][o.symbol]
    return trades


def test_a_name_oscillating_around_the_cut_off_does_not_trade_every_session():
    knobs = replace(KNOBS, max_positions=5, entry_cost_multiple=0.0, min_hold_sessions=0)
    churn = _walk(replace(knobs, hold_band=1.0))  # no band: out at rank 7, in at rank 4
    held = _walk(replace(knobs, hold_band=2.0))
    assert churn >= 30 and held == 1, (churn, held)


def test_the_screen_counts_add_up_to_the_candidates():
    signal, prices, conf = market(n=80)
    prices = prices.drop(prices.index[:3])  # three names without a price
    knobs = replace(KNOBS, max_positions=8, min_confidence=0.5, max_alloc=0.2)
    held = {s: {"qty": 5, "avg_price": 50.0, "entry_date": "2024-01-02", "last_price": 50.0}
            for s in signal.sort_values().index[-3:]}  # the three best, held
    state = fresh_state("b", 100_000) | {"positions": held, "cash": 4_000.0}
    decision = generate_orders(frame(signal, conf), state, knobs, prices, SESSION)
    s = decision.screen
    assert s.candidates == 80 - 3  # every name with a forecast that is not held
    assert s.no_price == 3 and s.below_bar > 0 and s.low_confidence > 0
    assert s.candidates == s.removed() + s.entered
    assert s.kept == 3 and s.entered == len([o for o in decision.orders if o.reason == "entry"])
    assert len(s.nearest) == 10 and all(n["why"] for n in s.nearest)
    ranks = [n["rank"] for n in s.nearest]
    assert ranks == sorted(ranks)


def test_a_held_name_without_a_forecast_stays():
    signal, prices, conf = market()
    held = {"ZZZ": {"qty": 5, "avg_price": 50.0, "entry_date": "2024-01-02",
                    "last_price": 50.0}}
    chosen = select(frame(signal, conf), held, prices, KNOBS)
    assert chosen.keep == ["ZZZ"] and not chosen.leave


def test_a_new_name_is_kept_for_its_minimum_hold_whatever_its_rank():
    signal, prices, conf = market()
    worst = signal.idxmin()
    held = {worst: {"qty": 5, "avg_price": float(prices[worst]), "entry_date": "2024-02-28",
                    "last_price": float(prices[worst])}}  # bought 3 sessions before SESSION
    state = fresh_state("b", 100_000) | {"positions": held}
    for hold, sold in ((5, False), (3, True)):
        knobs = replace(KNOBS, min_hold_sessions=hold)
        orders = generate_orders(frame(signal, conf), state, knobs, prices, SESSION).orders
        assert [o.reason for o in orders if o.symbol == worst and o.side == "sell"] == (
            ["hold_band"] if sold else []), hold

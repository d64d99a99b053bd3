"""The Bots page's "Live vs simulated" read model: a bot's reconcile reports (`aion reconcile`,
documents.ReconcileReport) as the frames the page draws. Pure: reports in, frames out.

Every bp figure is positive when live trading did worse for the bot than its reference
(paid more on a buy, received less on a sell); the tracking difference is the live book's
equity against its shadow's, negative when live is behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

NOTHING = ("Simulated only: nothing to reconcile. A bot that trades through Alpaca "
           "(`--broker alpaca-paper`, AION_BROKER) is checked against the broker and a shadow "
           "simulation by `aion reconcile`, and shows it here.")
TRACKING_COLUMNS = ["session", "tracking_bp", "tracking_day_bp", "live_equity",
                    "shadow_equity"]
FILL_COLUMNS = ["session", "order_id", "symbol", "side", "qty", "price", "shadow_price",
                "vs_shadow_bp", "vs_open_bp", "vs_decision_bp"]
ISSUE_COLUMNS = ["session", "kind", "order_id", "symbol", "text"]
SYMBOL_COLUMNS = ["symbol", "fills", "notional", "vs_shadow_bp", "vs_decision_bp", "cost"]


@dataclass(frozen=True)
class LiveVsSim:
    """What the page shows of one bot, or only `note`.

    tracking: TRACKING_COLUMNS, one row per reconciled session (bp; equities in USD);
    fills: FILL_COLUMNS, one row per live fill (bp against the shadow's fill of the same
      order, the session's open and the decision price; prices in USD);
    by_symbol: SYMBOL_COLUMNS, notional-weighted mean bp per symbol and `cost`, what the
      difference to the shadow's fills cost in USD (positive = live paid more), worst first;
    issues: ISSUE_COLUMNS, the last report's issues first (each naming an order id or a
      symbol), then earlier sessions', newest first;
    last: the last report's session, status and summary counts.
    """

    note: str | None
    tracking: pd.DataFrame
    fills: pd.DataFrame
    by_symbol: pd.DataFrame
    issues: pd.DataFrame
    last: Mapping[str, Any]


def live_vs_sim(reports: Sequence[Mapping[str, Any]]) -> LiveVsSim:
    """The view of a bot's reports (any order); `note` alone when it has none."""
    if not reports:
        empty = pd.DataFrame()
        return LiveVsSim(NOTHING, empty, empty, empty, empty, {})
    reports = sorted(reports, key=lambda r: r["session"])
    shadows = [(r["session"], r.get("shadow") or {}) for r in reports]
    tracking = pd.DataFrame([{"session": s, **{k: sh.get(k) for k in TRACKING_COLUMNS[1:]}}
                             for s, sh in shadows if sh], columns=TRACKING_COLUMNS)
    fills = pd.DataFrame([{"session": s, **{k: f.get(k) for k in FILL_COLUMNS[1:]}}
                          for s, sh in shadows for f in sh.get("fills", [])],
                         columns=FILL_COLUMNS)
    issues = pd.DataFrame([{"session": r["session"], **{k: i.get(k) for k in ISSUE_COLUMNS[1:]}}
                           for r in reversed(reports) for i in r.get("issues", [])],
                          columns=ISSUE_COLUMNS)
    last = reports[-1]
    return LiveVsSim(None, tracking, fills, by_symbol(fills), issues,
                     {"session": last["session"], "status": last["status"],
                      **last.get("summary", {})})


def by_symbol(fills: pd.DataFrame) -> pd.DataFrame:
    """SYMBOL_COLUMNS from the fills frame (FILL_COLUMNS), the costliest symbol first."""
    if fills.empty:
        return pd.DataFrame(columns=SYMBOL_COLUMNS)
    f = fills.assign(notional=fills["qty"] * fills["price"])
    rows = []
    for sym, g in f.groupby("symbol", sort=True):
        w = g["notional"]
        rows.append({"symbol": sym, "fills": len(g), "notional": float(w.sum()),
                     "vs_shadow_bp": _weighted(g["vs_shadow_bp"], w),
                     "vs_decision_bp": _weighted(g["vs_decision_bp"], w),
                     "cost": float(((g["price"] - g["shadow_price"]) * g["qty"]
                                    * g["side"].map({"buy": 1, "sell": -1})).sum())})
    out = pd.DataFrame(rows, columns=SYMBOL_COLUMNS)
    return out.sort_values("cost", ascending=False, kind="stable").reset_index(drop=True)


def _weighted(values: pd.Series, weights: pd.Series) -> float | None:
    ok = values.notna()
    if not ok.any() or weights[ok].sum() <= 0:
        return None
    return float((values[ok].astype(float) * weights[ok]).sum() / weights[ok].sum())

"""Read models of the Bots page beyond the cards: why a swing bot did not trade, when its
badge warns that it has sat idle, and where each open position's stop is.

Pure functions of a loaded bot state (CONTRACT.md "Bot state"), no I/O and no Streamlit.
A swing session's run writes what its selection did (aion_core.bots.construction.Screen) to
`last_run.screen`, the names nearest to entry with why each was left out to
`pending_signals`, and the sessions in a row without a fill to `idle_sessions`; states
written before that carry none of them and read as "no screen", never as zeros.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aion_core.bots import performance
from aion_core.market_hours import NY

#: A swing bot without a fill for this many sessions in a row shows a warning badge instead
#: of "ok". A ranking book with a hold band trades a few names most sessions; a week without
#: a single fill means the entry bar, the confidence floor or a full book is holding it
#: back, and the analyst should read the bot's "Why no trade" to see which.
IDLE_WARN_SESSIONS = 5

#: The selection's rules in the order it applies them (aion_core.bots.construction._entries,
#: then the cash check in signals.generate_orders): each candidate is counted once, by the
#: first rule it fails. Key in the screen, label on the page.
SCREEN_RULES: list[tuple[str, str]] = [
    ("no_price", "no price"),
    ("below_bar", "below the cost bar"),  # excess forecast under the entry bar
    ("low_confidence", "low confidence"),  # under min_confidence
    ("outside_top", "outside top ranks"),  # ranked beyond max_positions
    ("no_slot", "no free slot"),  # the kept names fill the book
    ("no_cash", "no cash"),  # the cash left buys no whole share
]
NEAREST_COLUMNS = ["rank", "symbol", "side", "excess_bp", "confidence", "why"]


@dataclass(frozen=True)
class WhyNoTrade:
    """The last session's selection as the page shows it.

    funnel: one row per step (`step` label, `names` count, `kind`: "candidates", "removed"
      or "entered"), candidates first, then each rule's removals, then the entries;
    nearest: NEAREST_COLUMNS, best rank first (`excess_bp` the excess forecast in the
      side's favour in basis points over the horizon, `confidence` in [0, 1]);
    note: one line instead of all of it when the state has no screen (else None);
    source: where that session's forecasts came from (the nightly's brain or a replay's
      model), "" for a state from before it was recorded.
    """

    session: str | None
    candidates: int
    entered: int
    kept: int
    left_band: int
    bar_bp: float | None
    funnel: pd.DataFrame
    nearest: pd.DataFrame
    note: str | None = None
    source: str = ""


def why_no_trade(state: Mapping[str, Any]) -> WhyNoTrade:
    """What the last session's selection did with its candidates, from `last_run.screen`
    and `pending_signals`.

    A state from before the screen existed (no `screen` in `last_run`) and a run that
    screened nothing (halted, disabled: `screen` None) get a `note` and empty frames.
    """
    last = state.get("last_run") or {}
    screen = last.get("screen")
    session = last.get("session") or state.get("as_of")
    if not isinstance(screen, Mapping):
        note = ("This state predates the selection screen: the bot's next session records "
                "why it did or did not trade." if "screen" not in last
                else f"The last run screened no names: {last.get('status') or 'no status'}.")
        return WhyNoTrade(session, 0, 0, 0, 0, None, _funnel({}),
                          pd.DataFrame(columns=NEAREST_COLUMNS), note)
    count = {k: int(screen.get(k) or 0) for k in ("candidates", "entered", "kept", "left_band")}
    bar = screen.get("bar")
    return WhyNoTrade(session, count["candidates"], count["entered"], count["kept"],
                      count["left_band"], float(bar) * 1e4 if bar is not None else None,
                      _funnel(screen), nearest_frame(state.get("pending_signals") or []),
                      source=str(last.get("predictions") or ""))


def _funnel(screen: Mapping[str, Any]) -> pd.DataFrame:
    rows = [("candidates", int(screen.get("candidates") or 0), "candidates")]
    rows += [(label, int(screen.get(key) or 0), "removed") for key, label in SCREEN_RULES]
    rows.append(("entered", int(screen.get("entered") or 0), "entered"))
    return pd.DataFrame(rows, columns=["step", "names", "kind"])


def nearest_frame(pending: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The names nearest to entry (pending_signals of the screen's kind: symbol, side, rank,
    excess, confidence, why) as NEAREST_COLUMNS, best rank first; an older state's signals,
    which carry no `excess`, give an empty frame."""
    rows = [p for p in pending if "excess" in p]
    if not rows:
        return pd.DataFrame(columns=NEAREST_COLUMNS)
    frame = pd.DataFrame(rows)
    frame["excess_bp"] = frame["excess"].astype(float) * 1e4
    return frame.reindex(columns=NEAREST_COLUMNS).sort_values(
        ["rank", "symbol"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- the badge


def idle_warning(status: str | None, idle_sessions: int | None) -> str | None:
    """The badge that replaces a plain "ok" when the bot has gone IDLE_WARN_SESSIONS or more
    sessions without a fill ("idle N sessions: see why no trade"), else None. A status that
    already says why nothing happens (halted, disabled, failed) keeps its own badge."""
    n = int(idle_sessions or 0)
    if n < IDLE_WARN_SESSIONS or not str(status or "").lower().startswith("ok"):
        return None
    return f"idle {n} sessions: see why no trade"


# --------------------------------------------------------------------------- positions


def position_levels(positions: pd.DataFrame, stop_loss: float,
                    take_profit: float) -> pd.DataFrame:
    """`positions` (calc.positions_frame) with the prices at which the bot's own exits fire
    (aion_core.bots.risk.exit_reason, on the move from `avg_price`, the cost basis with entry
    fees): `stop` = avg_price x (1 - stop_loss) for a long, x (1 + stop_loss) for a short;
    `target` likewise with take_profit, only while that knob is on (> 0). USD per share.
    """
    out = positions.copy()
    side = np.sign(out["qty"].astype(float))
    avg = out["avg_price"].astype(float)
    out["stop"] = avg * (1.0 - side * stop_loss)
    if take_profit > 0:
        out["target"] = avg * (1.0 + side * take_profit)
    return out


# --------------------------------------------------------------------------- the book's risk


def book_risk(equity: pd.Series, initial: float | None,
              closes: pd.DataFrame | None) -> dict[str, float | int | None]:
    """The book's beta to the equal-weight universe and its active risk (annualised tracking
    error), on the sessions both the book and the universe have a return for.

    equity: the bot's closing equity per session (calc.daily_equity; index dates, USD), its
    first return measured from `initial`; closes: the universe's closes (index session
    dates, a column per symbol), whose daily return is the mean of the names'
    close-to-close returns (performance.universe_returns). Returns `beta`, `active_risk`
    (a fraction a year) and `sessions`; the figures are None under two common sessions.
    """
    if closes is None or closes.empty or not len(equity):
        return {"beta": None, "active_risk": None, "sessions": 0}
    rets = performance.session_returns(equity, initial)
    bench = performance.universe_returns(closes)
    sessions = len(rets.index.intersection(bench.index))
    if sessions < 2:
        return {"beta": None, "active_risk": None, "sessions": sessions}
    return {"beta": performance.alpha_beta(rets, bench)[1],
            "active_risk": performance.active_risk(rets, bench), "sessions": sessions}


# --------------------------------------------------------------------------- fills on a chart

MARKER_COLUMNS = ["date", "bot", "side", "qty", "price", "reason"]


def trade_markers(trades: Iterable[pd.DataFrame], symbol: str, start: pd.Timestamp,
                  end: pd.Timestamp, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The fills of `symbol` by every bot within a daily chart's [start, end], to mark them
    on it: MARKER_COLUMNS, oldest first.

    trades: each bot's trade log as calc.trades_frame gives it (`ts` UTC); a fill is placed
    on its New York session date (tz-naive midnight, the chart's bars' dates), at its fill
    price (USD); labels: bot name -> the name the app shows (registry `label`).
    """
    parts = [t.loc[t["symbol"] == symbol] for t in trades if len(t)]
    fills = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["ts", "bot", "side", "qty", "price", "reason"])
    fills = fills.dropna(subset=["ts"])
    date = pd.to_datetime(fills["ts"], utc=True).dt.tz_convert(NY).dt.tz_localize(
        None).dt.normalize()
    out = fills.assign(date=date, bot=fills["bot"].map(lambda b: (labels or {}).get(b, b)))
    out = out[(out["date"] >= pd.Timestamp(start)) & (out["date"] <= pd.Timestamp(end))]
    return out.sort_values("ts", kind="stable").reindex(columns=MARKER_COLUMNS).reset_index(
        drop=True)

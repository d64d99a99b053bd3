"""Read models for the pages: pure functions from loaded documents to what a page shows.

No I/O and no Streamlit: `aion_core.app.views` loads the files, these shape them, the pages lay
them out. Every figure comes from `aion_core.bots.performance` (one implementation for the
app and the backtest report); this module only selects and reshapes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aion_core.app.bots_view import idle_warning
from aion_core.bots import performance
from aion_core.bots.registry import Bot
from aion_core.knobs.schema import knob_layers

PRED_COLUMNS = ["symbol", "horizon", "expected_return", "confidence", "score", "rank",
                "last_close"]
TRADE_COLUMNS = ["ts", "bot", "symbol", "side", "qty", "price", "fees", "reason", "order_id",
                 "realized_pnl"]
_LEVEL = re.compile(r"\b(CRITICAL|ERROR|WARNING|INFO|DEBUG)\b")


# --------------------------------------------------------------------------- formats

MINUS = "\u2212"  # the true minus Plotly draws on every axis: one style everywhere
MONEY_AXIS = "$~s"  # d3: "−$10k", "$0", "$115k"; put the sign before the "$" like money()


def fmt_money(x: float | None, signed: bool = False, compact_from: float = 1e4,
              cents: bool = True) -> str:
    """Compact USD: $1.23M, $45.6k, $789.00, −$527.09 (true minus; "+" too when `signed`).

    Amounts from `compact_from` on are shortened to k/M/B, so a narrow card can ask for
    "$5.14k" and "−$527" (no `cents`) where a table shows "$5,140.65".
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    sign = MINUS if x < 0 else "+" if signed and x > 0 else ""
    a = abs(x)
    body = f"{a / 1e9:.2f}B" if a >= 1e9 else f"{a / 1e6:.2f}M" if a >= 1e6 \
        else f"{a / 1e3:.3g}k" if a >= max(compact_from, 1e3) and a < 1e4 \
        else f"{a / 1e3:.1f}k" if a >= compact_from else f"{a:,.2f}" if cents else f"{a:,.0f}"
    return f"{sign}${body}"


def fmt_pct(x: float | None, signed: bool = True, digits: int = 2) -> str:
    """A fraction as a percentage with the same true minus as fmt_money: −1.23%, +5.00%."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"
    return text.replace("-", MINUS)


# --------------------------------------------------------------------------- read models


def predictions_table(brain: Mapping[str, Any] | None) -> pd.DataFrame:
    """Every (symbol, horizon) prediction of a brain document.

    Returns: RangeIndex; columns PRED_COLUMNS (expected_return a fraction, confidence in
    [0, 1], last_close USD), sorted by score descending.
    """
    rows = []
    for sym, entry in ((brain or {}).get("symbols") or {}).items():
        close = entry.get("last_close")
        for h, p in (entry.get("predictions") or {}).items():
            rows.append((sym, h, p.get("expected_return"), p.get("confidence"), p.get("score"),
                         p.get("rank"), close))
    frame = pd.DataFrame(rows, columns=PRED_COLUMNS)
    return frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def equity_series(state: Mapping[str, Any] | None) -> pd.Series:
    """A bot's equity curve (index: session dates or cycle times, values USD)."""
    hist = (state or {}).get("equity_history") or []
    if not hist:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(hist)
    when = frame.get("date", frame.get("at", frame.get("ts")))
    idx = pd.to_datetime(when, utc=True, format="mixed").dt.tz_localize(None)
    return pd.Series(frame["equity"].astype(float).to_numpy(), index=idx, name="equity")


def daily_equity(equity: pd.Series) -> pd.Series:
    """The closing equity of each day (index midnight dates, USD).

    The intraday bot records a point per 15-minute cycle; the swing bots one per session.
    Comparing them on one chart needs the same clock: the last point of each day.
    """
    if not len(equity):
        return equity
    return equity.groupby(equity.index.normalize()).last()


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Running fall from the peak, as a negative fraction per point of `equity`."""
    return equity / equity.cummax() - 1.0 if len(equity) else equity


def positions_frame(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Open positions: symbol, qty, avg_price, last_price (USD), market_value,
    unrealised_pnl (USD), unrealised_pct (fraction), entry_date; largest value first."""
    pos = (state or {}).get("positions") or {}
    cols = ["symbol", "qty", "avg_price", "last_price", "market_value", "unrealised_pnl",
            "unrealised_pct", "entry_date"]
    if not pos:
        return pd.DataFrame(columns=cols)
    f = pd.DataFrame([{"symbol": s, **p} for s, p in pos.items()])
    f["market_value"] = f["qty"] * f["last_price"]
    f["unrealised_pnl"] = f["qty"] * (f["last_price"] - f["avg_price"])
    f["unrealised_pct"] = (f["last_price"] / f["avg_price"] - 1.0) * f["qty"].map(
        lambda q: 1 if q > 0 else -1)
    return f.reindex(columns=cols).sort_values("market_value", ascending=False,
                                               key=abs).reset_index(drop=True)


def trades_frame(records: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Trade log records as a frame: TRADE_COLUMNS, `ts` UTC datetime, newest first."""
    frame = pd.DataFrame(list(records)).reindex(columns=TRADE_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="mixed", errors="coerce")
    return frame.sort_values("ts", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class BotCard:
    """The dashboard's card for one bot (USD unless said otherwise)."""

    bot: str
    equity: float
    day_pnl: float
    total_pnl: float
    total_return: float  # fraction
    open_positions: int
    win_rate: float | None  # fraction of closing trades with a gain; None before any
    status: str
    as_of: str | None
    sharpe: float | None = None  # annualised over each day's close; None under MIN_SHARPE_DAYS
    max_drawdown: float | None = None  # a negative fraction, from the starting cash on
    exposure: float | None = None  # gross / equity now; None where the bot keeps no gross
    days: int = 0  # sessions of history the figures rest on
    warning: str | None = None  # bots_view.idle_warning: the badge shown in place of "ok"


#: Sessions of history before a card shows an annualised Sharpe: five days of an intraday
#: bot annualised to 13.33, a figure of nothing but its short history.
MIN_SHARPE_DAYS = 20


def risk_figures(state: Mapping[str, Any]) -> dict[str, Any]:
    """Sharpe, max drawdown and exposure now of a bot's history, by `performance.performance`,
    so a card shows the figures a backtest report of the same curve would.

    The intraday bot records a point per cycle: its curve is cut to each day's close first,
    since Sharpe is annualised over sessions, and it is None (the card says how short the
    history is) under MIN_SHARPE_DAYS sessions. Exposure is the book's now, gross over equity
    at the last point (the mean over the history is the tear sheet's, labelled so there);
    it needs the `gross` the swing bots keep beside equity: without it None, not a made-up 0.
    """
    equity = daily_equity(equity_series(state))
    if not len(equity):
        return {"sharpe": None, "max_drawdown": None, "exposure": None, "days": 0}
    hist = pd.DataFrame(state.get("equity_history") or [])
    gross = None
    if "gross" in hist and hist["gross"].notna().all() and len(hist) == len(equity):
        gross = pd.Series(hist["gross"].astype(float).to_numpy(), index=equity.index)
    initial = float(state.get("initial_cash") or 0) or None
    perf = performance.performance(equity, gross=gross, initial=initial)
    now = float(gross.iloc[-1] / equity.iloc[-1]) if gross is not None and equity.iloc[-1] \
        else None
    return {"sharpe": perf["sharpe"] if len(equity) >= MIN_SHARPE_DAYS else None,
            "max_drawdown": perf["max_drawdown"], "exposure": now, "days": len(equity)}


def bot_card(bot: str, state: Mapping[str, Any], trades: pd.DataFrame) -> BotCard:
    equity = equity_series(state)
    initial = float(state.get("initial_cash") or (equity.iloc[0] if len(equity) else 0.0))
    now = float(equity.iloc[-1]) if len(equity) else float(state.get("cash") or initial)
    prev = float(equity.iloc[-2]) if len(equity) > 1 else initial
    closing = trades["realized_pnl"].dropna() if len(trades) else pd.Series(dtype=float)
    closing = closing[closing != 0]
    stats = performance.trade_stats(closing)
    last = state.get("last_run") or {}
    return BotCard(bot=bot, equity=now, day_pnl=now - prev, total_pnl=now - initial,
                   total_return=now / initial - 1.0 if initial else 0.0,
                   open_positions=len(state.get("positions") or {}),
                   win_rate=stats["win_rate"] if stats["trades"] else None,
                   status=str(last.get("status") or "never run"), as_of=state.get("as_of"),
                   warning=idle_warning(last.get("status"), state.get("idle_sessions")),
                   **risk_figures(state))


def pnl_table(curves: Mapping[str, pd.Series], initials: Mapping[str, float],
              period: str) -> pd.DataFrame:
    """PnL (USD) per `period` ("day", "week", "month"): index period end, one column per bot."""
    cols = {bot: performance.pnl_by(eq, period, initials.get(bot))
            for bot, eq in curves.items() if len(eq)}
    return pd.DataFrame(cols).fillna(0.0) if cols else pd.DataFrame()


def cumulative_returns(curves: Mapping[str, pd.Series], initials: Mapping[str, float],
                       closes: pd.DataFrame | None) -> pd.DataFrame:
    """Cumulative return (fraction) of each bot and of the equal-weight benchmark.

    curves: bot -> equity (index session dates or intraday cycle times, read per day).
    closes: index session dates, one column per
    symbol (USD), the universe the benchmark buys and holds from the bots' first session.
    Returns: index dates, one column per bot plus "benchmark".
    """
    cols = {bot: daily_equity(eq) / (initials.get(bot) or eq.iloc[0]) - 1.0
            for bot, eq in curves.items() if len(eq)}
    out = pd.DataFrame(cols)
    if closes is not None and not closes.empty and not out.empty:
        window = closes.loc[(closes.index >= out.index.min()) & (closes.index <= out.index.max())]
        if len(window):
            out["benchmark"] = performance.buy_and_hold(window, 1.0) - 1.0
    return out


def regime_view(brain: Mapping[str, Any] | None) -> tuple[str | None, dict[str, float],
                                                           pd.DataFrame]:
    """The current regime label, its probabilities, and its history (date, label)."""
    regime = (brain or {}).get("regime") or {}
    hist = pd.DataFrame(regime.get("history") or [])
    if not hist.empty and "date" in hist:
        hist["date"] = pd.to_datetime(hist["date"])
    return regime.get("label"), dict(regime.get("probabilities") or {}), hist


def knob_table(config: Mapping[str, Any] | None, bot: Bot,
               env: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Bot's knobs in force under bots_config.json `config` over the env files `env`
    (knobs.knob_layers): knob, value, default, changed (value differs from the default),
    source ("default", "knobs.env" / "dt_knobs.env" or "bots_config.json"), help."""
    layers = knob_layers(config, bot.section, bot.horizon, env)
    rows = [{"knob": k.name, "value": layers[k.name][0], "default": k.default,
             "changed": layers[k.name][0] != k.default, "source": layers[k.name][1],
             "help": k.help} for k in bot.schema()]
    return pd.DataFrame(rows)


def log_frame(lines: list[str]) -> pd.DataFrame:
    """Log lines with their level: line (1-based within the tail), level, text."""
    levels = []
    for line in lines:
        m = _LEVEL.search(line)
        levels.append(m.group(1) if m else ("ERROR" if "Traceback" in line else "INFO"))
    return pd.DataFrame({"line": range(1, len(lines) + 1), "level": levels, "text": lines})


_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_NIGHTLY_LOG = re.compile(r"nightly_(\d{4})(\d{2})(\d{2})\.log$")


def traceback_of(lines: list[str], step: str) -> list[str]:
    """The last "step <step> failed" line of a log and the traceback under it: the lines
    up to the next time-stamped record (a traceback's lines carry no stamp). [] if absent."""
    starts = [i for i, line in enumerate(lines) if f" step {step} failed:" in line]
    if not starts:
        return []
    block = [lines[starts[-1]]]
    for line in lines[starts[-1] + 1:]:
        if _STAMP.match(line):
            break
        block.append(line)
    return block


def summary_log_day(summary: Mapping[str, Any] | None) -> str | None:
    """The YYYY-MM-DD naming the run's log file (`nightly_<yyyymmdd>.log`, its `log`
    field), else the UTC date it started on; None without a summary."""
    match = _NIGHTLY_LOG.search(str((summary or {}).get("log") or ""))
    if match:
        return "-".join(match.groups())
    started = str((summary or {}).get("started_at") or "")
    return started[:10] or None


def summary_steps(summary: Mapping[str, Any] | None) -> pd.DataFrame:
    """The last nightly run's steps: name, status, seconds, detail."""
    steps = (summary or {}).get("steps") or []
    return pd.DataFrame(steps).reindex(columns=["name", "status", "seconds", "detail"])


def importance_frame(meta: Mapping[str, Any] | None, top: int = 20) -> pd.DataFrame:
    """A model's feature importance (feature, importance), largest first.

    Reads `feature_importance` as a {feature: value} mapping or a list of pairs/records.
    """
    raw = (meta or {}).get("feature_importance") or (meta or {}).get("importance") or {}
    if isinstance(raw, Mapping):
        items = list(raw.items())
    else:
        items = [(r.get("feature"), r.get("importance")) if isinstance(r, Mapping) else tuple(r)
                 for r in raw]
    frame = pd.DataFrame(items, columns=["feature", "importance"])
    return frame.sort_values("importance", ascending=False).head(top).reset_index(drop=True)


def chart_frame(bars: pd.DataFrame, sessions: int = 250) -> pd.DataFrame:
    """The last `sessions` bars with the chart's indicators.

    bars: `date, open, high, low, close, volume` (USD, shares). Returns those columns plus
    sma_20, sma_50 (USD) and rsi_14 (0-100, Wilder smoothing), computed on the full history
    before trimming so the first shown values are not warm-up artefacts.
    """
    f = bars.sort_values("date").reset_index(drop=True)
    close = f["close"].astype(float)
    f["sma_20"] = close.rolling(20).mean()
    f["sma_50"] = close.rolling(50).mean()
    delta = close.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / 14, adjust=False).mean()
    f["rsi_14"] = 100 - 100 / (1 + gain / loss.replace(0.0, float("nan")))
    return f.tail(sessions).reset_index(drop=True)


def validation_row(meta: Mapping[str, Any]) -> dict[str, Any]:
    """One model's validation figures: its summary numbers, else the mean over its folds,
    and `rounds`, the final model's boosting rounds (`num_rounds`): a fold's rounds are
    its own, grown with early-stopping patience on a shorter history."""
    val = meta.get("validation") or {}
    row: dict[str, Any] = {"trained_through": meta.get("trained_through")}
    numbers = {k: v for k, v in val.items() if isinstance(v, int | float)}
    folds = pd.DataFrame(val.get("folds") or [])
    if not numbers and not folds.empty:
        numbers = folds.select_dtypes("number").drop(
            columns=["rounds", "trained_rounds", "n_dates", "n_rows"],
            errors="ignore").mean().to_dict()
    if isinstance(meta.get("num_rounds"), int):
        row["rounds"] = meta["num_rounds"]
    row.update({k: round(float(v), 4) for k, v in numbers.items()})
    row["folds"] = len(folds)
    return row


#: What an import did to what it read, in the Logs page's order: a file or item refused
#: whole, rows its parse dropped (the report's file notes), rows repaired, rows flagged.
IMPORT_ACTIONS = ("refused", "dropped", "repaired", "flagged")
_COUNT = re.compile(r"^\s*(\d+)\b")


def import_drops(report: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(file, rows, note) for each note of a read file: what its parse dropped, in the
    report's own words and count (jobs/imports.py starts every note with it: `20780 item(s)
    without a time, ticker or text, or repeated, dropped`)."""
    return [(str(f.get("path")), int(m.group(1)) if (m := _COUNT.match(note)) else 0, note)
            for f in report.get("files") or [] for note in f.get("notes") or []]


def import_runs(reports: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per import report: when, what, its status and totals, and the rows its parse
    dropped (`dropped`, from its file notes)."""
    rows = [{"import": r.get("import_id"), "kind": r.get("kind"), "status": r.get("status"),
             "finished": str(r.get("finished_at", ""))[:19].replace("T", " "),
             **{k: (r.get("totals") or {}).get(k, 0)
                for k in ("files", "imported", "unchanged", "refused", "rows_read",
                          "rows_added")},
             "dropped": sum(n for _, n, _ in import_drops(r))} for r in reports]
    return pd.DataFrame(rows)


def import_findings(report: dict[str, Any]) -> pd.DataFrame:
    """One row per (item, check) of one import: what was refused, dropped (a file's notes),
    repaired or flagged."""
    rows = [{"item": key, "check": f.get("check"), "action": f.get("action"),
             "rows": f.get("rows", 0), "dates": ", ".join(f.get("dates") or []),
             "detail": f.get("detail", "")}
            for key, item in sorted((report.get("items") or {}).items())
            for f in item.get("findings") or []]
    told = {row["item"] for row in rows if row["action"] == "refused"}
    rows += [{"item": key, "check": "refused", "action": "refused",
              "rows": item.get("rows_read", 0), "dates": "", "detail": item.get("reason", "")}
             for key, item in sorted((report.get("items") or {}).items())
             if item.get("status") == "refused" and key not in told]
    rows += [{"item": f.get("path"), "check": "file", "action": "refused", "rows": 0,
              "dates": "", "detail": f.get("reason", "")}
             for f in report.get("files") or [] if f.get("status") == "refused"]
    rows += [{"item": path, "check": "parse", "action": "dropped", "rows": n, "dates": "",
              "detail": note} for path, n, note in import_drops(report)]
    return pd.DataFrame(rows, columns=["item", "check", "action", "rows", "dates", "detail"])


# --------------------------------------------------------------------------- error boxes


def error_label(what: str, exc: BaseException) -> str:
    """An error box's label: `what`, and the name of the file the error came from when the
    error knows it (`path`: CorruptFileError, a KnobError from bots_config.json or an env
    file) and `what` does not name it already: "Bot knobs (knobs.env)"."""
    path = getattr(exc, "path", None)
    name = getattr(path, "name", None)
    return f"{what} ({name})" if name and name not in what else what

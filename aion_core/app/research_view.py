"""Read models of the Research page: backtest runs, their tear sheets and `aion evaluate`
reports.

Loaders are registered with `aion_core.app.views.loader`, so the app caches them on the mtimes of
exactly the files they read, like every other page. The figures and frames are pure functions
of a loaded run, computed with `aion_core.bots.performance` (the functions that wrote the run's
metrics.json), so a tear sheet can be recomputed from the files and checked. The "tear_sheets"
loader bundles all of them per run: a year of ~7,500 fills a bot takes about a second to
reduce, far too slow to redo on every rerun of the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from aion_core.app.calc import MINUS, fmt_pct
from aion_core.app.views import documents_at, loader
from aion_core.bots import performance
from aion_core.config import PATHS
from aion_core.errors import CorruptFileError
from aion_core.ml.universe import note_line
from aion_core.store import Store, read_json, read_jsonl, read_parquet

BENCHMARK = "benchmark"  # the benchmark's bot name in equity.parquet (jobs/replay.py)
RUNS_SHOWN = 50
COMPARE_MAX = 4
_BACKTEST_ID = re.compile(r"^bt_\d{8}T\d{6}(_\d+)?$")
_EVAL_ID = re.compile(r"^eval_\d{8}_\d{8}_r\d{1,3}_[a-z0-9-]{2,12}(_composite)?$")

#: The tear sheet's figures in the order shown, in rows of returns, risk-adjusted, trading:
#: key, label, format (pct: signed percentage, share: unsigned, ratio, days, x: times a
#: year), and what it means (the page's help).
FIGURES: list[tuple[str, str, str, str]] = [
    ("total_return", "Total return", "pct", "End equity over the starting cash, less one."),
    ("cagr", "CAGR", "pct", "Compound annual growth over the run's sessions (252 a year)."),
    ("volatility", "Volatility", "share", "Annualised standard deviation of daily returns."),
    ("max_drawdown", "Max drawdown", "pct", "Worst fall from a running peak of equity."),
    ("calmar", "Calmar", "ratio", "CAGR over the depth of the max drawdown."),
    ("sharpe", "Sharpe", "ratio", "Annualised mean over std of daily returns, risk-free 0."),
    ("sortino", "Sortino", "ratio", "Like Sharpe, over the downside deviation only."),
    ("alpha", "Alpha", "pct", "Annual return not explained by the benchmark (CAPM)."),
    ("beta", "Beta", "ratio", "Sensitivity of daily returns to the benchmark's."),
    ("active_risk", "Active risk", "share", "Tracking error: annualised standard deviation of "
                                            "daily returns less the benchmark's."),
    ("exposure", "Exposure", "share", "Mean of gross position value over equity."),
    ("win_rate", "Win rate", "share", "Share of closing fills with a realised gain."),
    ("profit_factor", "Profit factor", "ratio", "Gross gains over gross losses of closing "
                                                "fills; — without a loss."),
    ("avg_holding_days", "Holding days", "days", "Mean calendar days of a closed round trip."),
    ("turnover", "Turnover", "x", "Traded notional over mean equity, a year."),
]


def fmt_figure(kind: str, value: float | None) -> str:
    """A tear-sheet figure as the page shows it (FIGURES' formats); None or NaN as "—"."""
    if value is None or value != value:
        return "—"
    if kind in ("pct", "share"):
        return fmt_pct(value, signed=kind == "pct")
    text = f"{value:.1f} d" if kind == "days" else f"{value:.1f}×" if kind == "x" \
        else f"{value:.2f}"
    return text.replace("-", MINUS)


def _folder(store: Store, key: str) -> Path:
    """research/backtests/ or research/evaluations/: the parent of the runs' folders."""
    return store.root / PATHS[key].split("/{")[0]


def _ids(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """Run ids in `folder`, newest first (ids start with their creation stamp)."""
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if pattern.match(p.name)), reverse=True)


# --------------------------------------------------------------------------- backtests


def _runs_files(store: Store) -> list[Path]:
    folder = _folder(store, "backtest_run")
    ids = _ids(folder, _BACKTEST_ID)[:RUNS_SHOWN]
    return [folder, *[store.path(k, backtest_id=i) for i in ids
                      for k in ("backtest_run", "backtest_metrics")]]


@loader("backtests", _runs_files, check=documents_at(1, lambda v: [
    {k: x for k, x in run.items() if k != "metrics"} for run in v[0]]))
def load_backtests(store: Store, paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The finished runs, newest first: run.json with its metrics.json as `metrics`; and the
    runs that cannot be read, each named with why (one bad run hides no other)."""
    runs, broken = [], []
    for run_path, metrics_path in zip(paths[1::2], paths[2::2], strict=True):
        try:
            doc = read_json(run_path)
            if doc is not None:
                runs.append({**doc, "metrics": read_json(metrics_path) or {}})
        except CorruptFileError as exc:
            broken.append(f"{exc.path}: {exc.reason}")
    return runs, broken


@dataclass(frozen=True)
class BacktestRun:
    """One run as stored: run.json, metrics.json, the equity frame (date, bot, equity, cash,
    gross; USD, the benchmark as bot BENCHMARK) and the trade log records."""

    doc: dict[str, Any]
    metrics: dict[str, Any]
    equity: pd.DataFrame
    trades: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def bots(self) -> list[str]:
        return [b for b in self.doc.get("bots", []) if b in set(self.equity["bot"])]

    def initial(self, bot: str) -> float:
        return float(((self.doc.get("knobs") or {}).get(bot) or {}).get("initial_cash")
                     or self.curve(bot).iloc[0])

    def curve(self, bot: str, column: str = "equity") -> pd.Series:
        """`column` of one bot (or BENCHMARK) indexed by session date."""
        rows = self.equity[self.equity["bot"] == bot]
        return rows.set_index("date")[column].astype(float)

    def bot_trades(self, bot: str) -> list[dict[str, Any]]:
        return [t for t in self.trades if t.get("bot") == bot]


def _run_files(store: Store, run_id: str) -> list[Path]:
    return [store.path(k, backtest_id=run_id) for k in
            ("backtest_run", "backtest_metrics", "backtest_equity", "backtest_trades")]


@loader("backtest", _run_files)
def load_backtest(store: Store, paths: list[Path], run_id: str) -> BacktestRun | None:
    """One run, None while it is not finished (run.json is written last)."""
    run_path, metrics_path, equity_path, trades_path = paths
    doc = read_json(run_path)
    if doc is None:
        return None
    equity = read_parquet(equity_path)
    if equity is None:
        raise CorruptFileError(equity_path, "missing beside run.json; run the backtest again")
    equity["date"] = pd.to_datetime(equity["date"])
    return BacktestRun(doc, read_json(metrics_path) or {}, equity,
                       read_jsonl(trades_path).records)


# --------------------------------------------------------------------------- evaluations


def _evals_files(store: Store) -> list[Path]:
    folder = _folder(store, "evaluation_report")
    ids = _ids(folder, _EVAL_ID)[:RUNS_SHOWN]
    return [folder, *[store.path("evaluation_report", eval_id=i) for i in ids]]


@loader("evaluations", _evals_files, check=documents_at(1, lambda v: v[0]))
def load_evaluations(store: Store, paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """`aion evaluate` reports (report.json), and the unreadable ones named."""
    docs, broken = [], []
    for path in paths[1:]:
        try:
            doc = read_json(path)
            if doc is not None:
                docs.append(doc)
        except CorruptFileError as exc:
            broken.append(f"{exc.path}: {exc.reason}")
    return sorted(docs, key=lambda d: str(d.get("created_at", "")), reverse=True), broken


def universe_line(doc: dict[str, Any] | None) -> tuple[bool, str]:
    """(whether a report's figures are upper bounds, the line the page shows) from its
    `universe` note (run.json, metrics.json, report.json); a report without one predates
    membership in the data root: its cross-sections held today's names."""
    return note_line((doc or {}).get("universe"))


# --------------------------------------------------------------------------- pure: tear sheet


def tear_sheet(run: BacktestRun, bot: str) -> dict[str, Any]:
    """The tear sheet's figures of one bot (performance.tear_sheet against the run's benchmark)."""
    bench = run.curve(BENCHMARK) if BENCHMARK in set(run.equity["bot"]) else None
    return performance.tear_sheet(run.curve(bot), run.bot_trades(bot), run.curve(bot, "gross"),
                              run.initial(bot), bench)


class TearSheet(TypedDict):
    """Everything the page shows of one bot of a run. Plain dicts, frames and series, so the
    shared cache (aion_core.app.cache) carries it between the app's processes."""

    figures: dict[str, Any]  # performance.tear_sheet: FIGURES' keys and the trade stats
    initial: float  # starting cash, USD
    curves: pd.DataFrame  # curves_frame
    monthly: pd.DataFrame  # performance.monthly_returns: index year, columns months 1-12
    rolling: pd.Series  # rolling_sharpe, index session dates
    trips: pd.DataFrame  # performance.round_trips without `bot`
    by_symbol: pd.DataFrame  # pnl_by(trips, "symbol")
    by_exit: pd.DataFrame  # pnl_by(trips, "exit_reason")


class RunSheets(TypedDict):
    """One run's run.json (`doc`) and a TearSheet per bot that traded, in run.json's order."""

    doc: dict[str, Any]
    sheets: dict[str, TearSheet]


def bot_sheet(run: BacktestRun, bot: str) -> TearSheet:
    """The TearSheet of one bot of `run`."""
    trips = performance.round_trips(run.bot_trades(bot)).drop(columns="bot")
    return TearSheet(figures=tear_sheet(run, bot), initial=run.initial(bot),
                     curves=curves_frame(run, bot),
                     monthly=performance.monthly_returns(run.curve(bot), run.initial(bot)),
                     rolling=rolling_sharpe(run, bot), trips=trips,
                     by_symbol=pnl_by(trips, "symbol"), by_exit=pnl_by(trips, "exit_reason"))


@loader("tear_sheets", _run_files)
def load_tear_sheets(store: Store, paths: list[Path], run_id: str) -> RunSheets | None:
    """The tear sheets of every bot of one run, None while it is not finished; cached on the
    same files as "backtest", so the page never reduces the trade log twice."""
    run = load_backtest(store, paths, run_id)
    if run is None:
        return None
    return RunSheets(doc=run.doc, sheets={bot: bot_sheet(run, bot) for bot in run.bots})


def curves_frame(run: BacktestRun, bot: str) -> pd.DataFrame:
    """Per session: `equity`, `benchmark` (USD), `drawdown` (fraction, <= 0), `exposure` and
    `cash` (fractions of equity); index session dates."""
    equity = run.curve(bot)
    frame = pd.DataFrame({"equity": equity, "drawdown": performance.drawdown(
        pd.concat([pd.Series([run.initial(bot)]), equity]))[1:].to_numpy(),
        "exposure": run.curve(bot, "gross") / equity, "cash": run.curve(bot, "cash") / equity})
    if BENCHMARK in set(run.equity["bot"]):
        frame["benchmark"] = run.curve(BENCHMARK)
    return frame


def rolling_sharpe(run: BacktestRun, bot: str, window: int = 63) -> pd.Series:
    """Rolling Sharpe over `window` sessions, shortened to a third of the run when the run
    is short (so a three-month run still shows a curve)."""
    rets = performance.session_returns(run.curve(bot), run.initial(bot))
    return performance.rolling_sharpe(rets, max(5, min(window, len(rets) // 3)))


def pnl_by(trips: pd.DataFrame, column: str) -> pd.DataFrame:
    """Closed round trips' PnL grouped by `column` (symbol or exit_reason): `pnl` (USD),
    `trips`, `win_rate`; largest PnL first."""
    if trips.empty:
        return pd.DataFrame(columns=[column, "pnl", "trips", "win_rate"])
    out = trips.assign(win=trips["pnl"] > 0).groupby(column).agg(
        pnl=("pnl", "sum"), trips=("pnl", "size"), win_rate=("win", "mean"))
    return out.reset_index().sort_values("pnl", ascending=False, ignore_index=True)


def runs_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """The list of runs: one row per (run, bot) with its headline figures from metrics.json."""
    rows = []
    for run in runs:
        for bot, figs in ((run.get("metrics") or {}).get("bots") or {}).items():
            rows.append({"id": run["id"], "created": str(run.get("created_at", ""))[:16],
                         "period": f"{run.get('start')} → {run.get('end')}", "bot": bot,
                         "retrain_every": run.get("retrain_every"),
                         "total_return": figs.get("total_return"), "sharpe": figs.get("sharpe"),
                         "max_drawdown": figs.get("max_drawdown"),
                         "benchmark": ((run.get("metrics") or {}).get("benchmark") or {}).get(
                             "total_return")})
    return pd.DataFrame(rows, columns=["id", "created", "period", "bot", "retrain_every",
                                       "total_return", "sharpe", "max_drawdown", "benchmark"])


def _compared(runs: list[RunSheets]) -> list[tuple[str, TearSheet]]:
    """(`run id · bot`, its sheet) of the first COMPARE_MAX runs."""
    return [(f"{r['doc']['id']} · {bot}", sheet) for r in runs[:COMPARE_MAX]
            for bot, sheet in r["sheets"].items()]


def compare_frame(runs: list[RunSheets]) -> pd.DataFrame:
    """Up to COMPARE_MAX runs side by side: one column per (run, bot), one row per figure."""
    return pd.DataFrame({name: [sheet["figures"].get(f[0]) for f in FIGURES]
                         for name, sheet in _compared(runs)}, index=[f[1] for f in FIGURES])


def growth_frame(runs: list[RunSheets]) -> pd.DataFrame:
    """Growth of 1 (equity over initial cash) per (run, bot): long `date, curve, growth`."""
    parts = [pd.DataFrame({"date": sheet["curves"].index, "curve": name,
                           "growth": (sheet["curves"]["equity"] / sheet["initial"]).to_numpy()})
             for name, sheet in _compared(runs)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["date", "curve", "growth"])


# --------------------------------------------------------------------------- pure: evaluation

EVAL_FIGURES = ["mean_rank_ic", "rank_ic_t", "rank_icir", "days_positive", "top_minus_bottom"]


def evaluation_table(doc: dict[str, Any], block: str = "all") -> pd.DataFrame:
    """One row per (horizon, signal: model and baselines) of report.json's `block` ("all" or
    a year): the headline figures (EVAL_FIGURES), missing ones NaN."""
    rows = []
    for h, rep in (doc.get("horizons") or {}).items():
        part = rep.get("all") if block == "all" else (rep.get("by_year") or {}).get(block)
        for signal, figs in (part or {}).items():
            rows.append({"horizon": h, "signal": signal,
                         **{k: (figs or {}).get(k) for k in EVAL_FIGURES}})
    return pd.DataFrame(rows, columns=["horizon", "signal", *EVAL_FIGURES])


def evaluation_verdicts(doc: dict[str, Any]) -> list[str]:
    """Each horizon's verdict (the model against the composite and the best baseline) and
    its long-short Sharpe deflated for the trials on the window, one line each."""
    lines = []
    deflated = (doc.get("deflated") or {}).get("horizons") or {}
    for h, rep in (doc.get("horizons") or {}).items():
        d = deflated.get(h) or {}
        tail = (f" · net long-short PSR {fmt_pct(d['psr'], signed=False, digits=0)}, "
                f"deflated {fmt_pct(d['dsr'], signed=False, digits=0)} over "
                f"{doc.get('trials', '?')} trials") if d.get("psr") is not None else ""
        lines.append(f"**{h}**: {rep.get('verdict', 'no verdict (an older report)')}{tail}")
    return lines


TRIAL_COLUMNS = ["at", "kind", "window", "headline", "symbols", "id", "recipe", "code"]


def trials_table(lines: list[dict[str, Any]]) -> pd.DataFrame:
    """The trial registry, newest first: one row per evaluation or backtest, with its
    headline (rank IC per horizon, or Sharpe per bot) and its deflated Sharpe."""
    rows = []
    for t in reversed(lines):
        fig = t.get("figures") or {}
        dsr = fig.get("dsr") or {}
        if t.get("kind") == "evaluate":
            head = [f"{h} IC {_num((v or {}).get('mean_rank_ic'), '+.4f')}"
                    for h, v in fig.items() if isinstance(v, dict) and "mean_rank_ic" in v]
        else:
            head = [f"{b} Sharpe {_num(v, '.2f')}" for b, v in (fig.get("sharpe") or {}).items()]
        head += [f"DSR {k} {_num(v, '.0%')}" for k, v in dsr.items()]
        rows.append({"at": str(t.get("at", ""))[:16].replace("T", " "), "kind": t.get("kind"),
                     "id": t.get("id"),
                     "window": f"{t.get('start')} → {t.get('end')}",
                     "symbols": t.get("symbols"), "recipe": t.get("recipe"),
                     "code": t.get("code_version"), "headline": " · ".join(head)})
    return pd.DataFrame(rows, columns=TRIAL_COLUMNS)


def _num(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


@loader("trials", lambda s: [s.path("research_trials")], check=documents_at(0))
def load_trials(store: Store, paths: list[Path]) -> list[dict[str, Any]]:
    """research/trials.jsonl ([] before the first evaluation or backtest)."""
    return list(read_jsonl(paths[0]).records) if paths[0].exists() else []


def evaluation_years(doc: dict[str, Any]) -> list[str]:
    """The calendar years the report has blocks for, oldest first."""
    return sorted({y for rep in (doc.get("horizons") or {}).values()
                   for y in (rep.get("by_year") or {})})

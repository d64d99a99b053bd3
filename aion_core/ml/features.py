"""Technical features of the daily panel: TA-Lib indicators, returns, and cross-sectional ranks.

Everything is computed on whole arrays, never row by row:
- the standard indicators come from TA-Lib (the C library), called once per symbol on that
  symbol's contiguous slice of the long, (symbol, date)-sorted arrays;
- returns, volatility, volume z-scores and the 52-week high run on a wide "session x symbol"
  array whose column s holds symbol s's bars in order (its k-th session in row k);
- percentile ranks run on a wide "date x symbol" array, one cross-section per date.

A symbol's bars are taken as its consecutive sessions: a missing day in a symbol's history
is skipped over, exactly as TA-Lib sees it, and as the labels count sessions.

Strictly causal: every value at row (symbol, t) depends only on that symbol's bars up to t
(the ranks on the other symbols' values at t). tests/test_features.py changes every bar after
t and checks the features at and before t are unchanged.

Definitions (where libraries differ, this is the one followed; parity is tested against
the `ta` library and independent pandas references after a 250-session warm-up):
- `ret_h`: close_t / close_{t-h} - 1.  `vol_20d`: sample std (ddof=1) of the last 20 `ret_1d`.
- `rsi_14`: Wilder (TA-Lib: seeded with the simple mean of the first 14 changes, then
  smoothing with alpha 1/14; `ta` seeds its ewm at 0, the difference dies out in the warm-up).
- `macd_12_26_9`, `macd_signal_12_26_9`, `macd_hist_12_26_9`: EMA(12) - EMA(26), its EMA(9),
  their difference (TA-Lib, SMA-seeded EMAs), in price units.
- `bb_pctb_20_2` = (close - lower) / (upper - lower); `bb_width_20_2` = (upper - lower) / middle
  as a fraction (StockCharts and `ta` print it x100); bands = SMA(20) +- 2 population stds.
- `atr_14`: Wilder ATR, TA-Lib (seeded with the mean of the first 14 true ranges), in price
  units; `natr_14` = atr_14 / close, a fraction.
- `adx_14`: Wilder's ADX as TA-Lib computes it (TR, +DM, -DM Wilder-smoothed from a 13-bar
  sum, then DX smoothed with alpha 1/14 from the mean of the first 14 DX), as `ta` does.
- `stoch_k_14`: fast %K = 100 (close - lowest low 14) / (highest high 14 - lowest low 14).
- `volume_z_20`: (volume - mean of the last 20 volumes) / their sample std.
- `dist_52w_high`: close / highest high of the last 252 sessions - 1 (NaN before 252 bars).
- `macd*_norm_12_26_9`: the MACD lines divided by close, so the model sees no price level.
- `rank_<name>`: percentile rank of <name> among the symbols on the same date, in (0, 1].
- the Alpha158-style candle and rolling price-volume ratios of aion_core.ml.alpha.
- `resid_*`: reversal of the returns left after the market's statistical factors
  (aion_core.ml.residual), on the date grid; `rank_resid_*` their per-date ranks.

What the model trains on (MODEL_FEATURES) is much narrower than what is built: only the ranked
residual features. Measured with `aion evaluate`'s recipe on the S&P 500 dev years (quarterly
refits; 1w mean rank IC 2015 / 2016): the ranked residual features alone +0.0076 / +0.0256;
the 108 price-volume columns with the residual features and the old market-relative target
+0.0072 / -0.0056; the 108 with the ranked residual features and the residual target
-0.0195 / +0.0444; only four ranked price columns added (volatility, 1- and 5-day return,
volume z) +0.0131 / +0.0011 (the last two with an earlier, mean-centred residual). The price
columns load on factors whose payoff flips sign from one year to the next (12-1 momentum's
rank IC: +0.066 in 2015, -0.049 in 2016), so they are built for the analyst's views and drift
checks, not trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from aion_core.errors import DataError
from aion_core.ml import residual
from aion_core.ml.alpha import ALPHA_FEATURES, alpha_columns
from aion_core.ml.residual import RESIDUAL_FEATURES, residual_columns
from aion_core.ml.universe import member_rows

BAR_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "volume"]
RETURN_WINDOWS = (1, 5, 10, 20, 60)
VOL_WINDOW = 20
VOLUME_WINDOW = 20
HIGH_52W_WINDOW = 252

#: Rows of the indicator step's output (`indicator_columns`), in the order it fills them.
INDICATOR_OUTPUTS = ("rsi_14", "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
                     "bb_pctb_20_2", "bb_width_20_2", "atr_14", "adx_14", "stoch_k_14",
                     "macd_norm_12_26_9", "macd_signal_norm_12_26_9", "macd_hist_norm_12_26_9",
                     "natr_14")

#: Standard-named columns (price-level ones included), as the issue defines them.
STANDARD_FEATURES = [f"ret_{h}d" for h in RETURN_WINDOWS] + [
    "vol_20d", "rsi_14", "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
    "bb_pctb_20_2", "bb_width_20_2", "atr_14", "adx_14", "stoch_k_14", "volume_z_20",
    "dist_52w_high",
]
NORMALISED_FEATURES = ["macd_norm_12_26_9", "macd_signal_norm_12_26_9",
                       "macd_hist_norm_12_26_9", "natr_14"]
RANKED_FEATURES = ["ret_1d", "ret_5d", "ret_20d", "ret_60d", "vol_20d", "rsi_14",
                   "macd_hist_norm_12_26_9", "natr_14", "volume_z_20", "dist_52w_high"]
RANK_FEATURES = [f"rank_{name}" for name in RANKED_FEATURES]

RANKED_RESIDUAL_FEATURES = [f"rank_{name}" for name in RESIDUAL_FEATURES]

#: Every column `build_features` returns besides `symbol, date`.
FEATURE_COLUMNS = (STANDARD_FEATURES + NORMALISED_FEATURES + RANK_FEATURES + ALPHA_FEATURES
                   + RESIDUAL_FEATURES + RANKED_RESIDUAL_FEATURES)
#: Computed per symbol (`symbol_columns`) and across symbols per date (`cross_section_columns`).
CROSS_SECTION_FEATURES = RANK_FEATURES + RESIDUAL_FEATURES + RANKED_RESIDUAL_FEATURES
SYMBOL_FEATURES = [c for c in FEATURE_COLUMNS if c not in CROSS_SECTION_FEATURES]
#: Sessions of history after which every feature is defined and the same whatever the
#: history's start (tests/test_features.py checks the last row past it).
WARM_UP = max(HIGH_52W_WINDOW, residual.WARM_UP)

_PRICE_LEVEL = {"macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9", "atr_14"}
#: The model's feature list: every scale-free column (price-level columns are left out, their
#: normalised versions are in), so one model serves a $5 and a $500 stock alike.
TECHNICAL_FEATURES = [c for c in FEATURE_COLUMNS if c not in _PRICE_LEVEL]
#: The bar features the forecast is trained on (see the module's docstring for why so few).
MODEL_FEATURES = list(RANKED_RESIDUAL_FEATURES)


@dataclass(frozen=True)
class PanelArrays:
    """The bars as contiguous float64 arrays; symbol s owns rows bounds[s]:bounds[s+1]."""

    bounds: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def n_symbols(self) -> int:
        return len(self.bounds) - 1


def symbol_bounds(rows: pd.DataFrame) -> np.ndarray:
    """Where each symbol's rows start, plus the row count: symbol s owns rows
    bounds[s]:bounds[s+1]. rows: `symbol, date, ...`, sorted by (symbol, date), one row per
    session (DataError otherwise)."""
    sym = rows["symbol"].to_numpy()
    dates = rows["date"].to_numpy()
    new = np.ones(len(rows), dtype=bool)
    new[1:] = sym[1:] != sym[:-1]
    starts = np.flatnonzero(new)
    inner = ~new[1:]
    if np.any(dates[1:][inner] <= dates[:-1][inner]) or len(pd.unique(sym[starts])) != len(starts):
        raise DataError("bars must be sorted by (symbol, date) with one row per session")
    return np.append(starts, len(rows)).astype(np.int64)


def panel_arrays(bars: pd.DataFrame) -> PanelArrays:
    """Arrays of `bars` (BAR_COLUMNS, sorted by (symbol, date), one row per session).

    A missing high or low (real data has a few) is replaced by the close, and high/low are
    widened to include the close, so one bad cell does not turn TA-Lib's recursive
    indicators into NaN for the rest of the symbol's history. A close <= 0 becomes NaN.
    """
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {missing}")
    bounds = symbol_bounds(bars)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64, na_value=np.nan))

    close = col("close")
    close = np.where(close > 0, close, np.nan)  # not a price: no ratio over it may be inf
    return PanelArrays(bounds, col("open"), np.fmax(col("high"), close),
                       np.fmin(col("low"), close), close, col("volume"))


def _one_symbol(o: np.ndarray, hi: np.ndarray, lo: np.ndarray, cl: np.ndarray) -> None:
    """Fill `o` (INDICATOR_OUTPUTS x this symbol's rows) from TA-Lib; the derived ratios are
    taken here, on cache-hot slices, rather than in extra passes over the whole panel."""
    o[0] = talib.RSI(cl, 14)
    o[1], o[2], o[3] = talib.MACD(cl, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(cl, 20, 2.0, 2.0)
    band = upper - lower
    np.divide(cl - lower, band, out=o[4])
    np.divide(band, middle, out=o[5])
    o[6] = talib.ATR(hi, lo, cl, 14)
    o[7] = talib.ADX(hi, lo, cl, 14)
    o[8] = talib.STOCHF(hi, lo, cl, 14, 1)[0]  # fastd 1: %K from the 14th bar on
    np.divide(o[1:4], cl, out=o[9:12])
    np.divide(o[6], cl, out=o[12])


def indicator_columns(p: PanelArrays) -> dict[str, np.ndarray]:
    """The indicator step: INDICATOR_OUTPUTS as float64 arrays over all rows, TA-Lib called
    once per symbol on its contiguous slice."""
    out = np.empty((len(INDICATOR_OUTPUTS), len(p.close)))  # every slice is filled below
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b in zip(p.bounds[:-1], p.bounds[1:], strict=True):
            _one_symbol(out[:, a:b], p.high[a:b], p.low[a:b], p.close[a:b])
    pctb = out[INDICATOR_OUTPUTS.index("bb_pctb_20_2")]
    pctb[~np.isfinite(pctb)] = np.nan  # a flat window has no band (0 / 0 or x / 0)
    return dict(zip(INDICATOR_OUTPUTS, out, strict=True))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den is 0 (a flat window has no z-score)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


@dataclass(frozen=True)
class PanelLayout:
    """Where each long row sits in the two wide grids (columns = symbols in bars' order)."""

    sym: np.ndarray  # symbol index of each row
    pos: np.ndarray  # the row's session number within its symbol: session x symbol grid
    day: np.ndarray  # the row's index into `days`: date x symbol grid
    days: pd.DatetimeIndex  # every date of the panel, ascending
    n_symbols: int
    n_sessions: int

    @property
    def n_days(self) -> int:
        return len(self.days)

    @staticmethod
    def of(p: PanelArrays, dates: np.ndarray, days: pd.DatetimeIndex | None = None
           ) -> PanelLayout:
        return PanelLayout.on(p.bounds, dates, days)

    @staticmethod
    def on(bounds: np.ndarray, dates: np.ndarray, days: pd.DatetimeIndex | None = None
           ) -> PanelLayout:
        """The layout of rows split by `bounds` (`symbol_bounds`); `days` (ascending, a
        superset of `dates`) is the date grid when these rows are one bucket of a larger
        panel, whose grid a date-wise feature needs."""
        lengths = np.diff(bounds)
        sym = np.repeat(np.arange(len(lengths)), lengths)
        pos = np.arange(len(sym)) - bounds[:-1][sym]
        if days is None:
            day, days = pd.factorize(dates, sort=True)
        else:
            day = days.get_indexer(dates)
        return PanelLayout(sym, pos, day, pd.DatetimeIndex(days), len(lengths),
                           int(lengths.max(initial=0)))

    def by_session(self, values: np.ndarray) -> np.ndarray:
        wide = np.full((self.n_sessions, self.n_symbols), np.nan)
        wide[self.pos, self.sym] = values
        return wide

    def by_day(self, values: np.ndarray) -> np.ndarray:
        wide = np.full((self.n_days, self.n_symbols), np.nan)
        wide[self.day, self.sym] = values
        return wide

    def flags_by_day(self, flags: np.ndarray) -> np.ndarray:
        """A bool per row on the date grid (False where a symbol has no row that day)."""
        wide = np.zeros((self.n_days, self.n_symbols), dtype=bool)
        wide[self.day, self.sym] = flags
        return wide


def _lagged_ratio(wide: np.ndarray, lag: int) -> np.ndarray:
    """wide[t] / wide[t - lag] - 1 along sessions (NaN for the first `lag` sessions)."""
    out = np.full_like(wide, np.nan)
    out[lag:] = wide[lag:] / wide[:-lag] - 1.0
    return out


def _session_columns(p: PanelArrays, lay: PanelLayout, alpha: bool = True
                     ) -> dict[str, np.ndarray]:
    """Returns, volatility, volume z-score and 52-week-high distance on the session grid, and
    with `alpha` the Alpha158-style ratios."""
    close = lay.by_session(p.close)
    wide: dict[str, np.ndarray] = {f"ret_{h}d": _lagged_ratio(close, h) for h in RETURN_WINDOWS}
    ret = pd.DataFrame(wide["ret_1d"])
    wide["vol_20d"] = ret.rolling(VOL_WINDOW).std().to_numpy()
    volume = lay.by_session(p.volume)
    roll = pd.DataFrame(volume).rolling(VOLUME_WINDOW)
    wide["volume_z_20"] = _ratio(volume - roll.mean().to_numpy(), roll.std().to_numpy())
    high_52w = pd.DataFrame(lay.by_session(p.high)).rolling(HIGH_52W_WINDOW).max().to_numpy()
    wide["dist_52w_high"] = close / high_52w - 1.0
    if alpha:
        wide |= alpha_columns(lay.by_session(p.open), lay.by_session(p.high),
                              lay.by_session(p.low), close, volume)
    return {name: w[lay.pos, lay.sym] for name, w in wide.items()}


_ORDER_BITS = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def _pct_rank_rows(wide: np.ndarray) -> np.ndarray:
    """pandas' `DataFrame(wide).rank(axis=1, pct=True)` (ties averaged, NaN kept), bit for bit,
    about twice as fast: NumPy's vectorised argsort is quick on int64 keys, so each float is
    mapped to an int64 whose order is the float's (negatives' magnitude bits flipped; NaN
    last). A value's rank is the mean of the first and last sorted positions of its ties."""
    nan = np.isnan(wide)
    bits = wide.view(np.int64)
    key = bits ^ ((bits >> 63) & _ORDER_BITS)
    key[nan] = np.iinfo(np.int64).max
    order = np.argsort(key, axis=1)
    ordered = np.take_along_axis(wide, order, axis=1)
    n_cols = wide.shape[1]
    position = np.arange(n_cols)
    first = np.ones(wide.shape, dtype=bool)  # the sorted value starts a run of ties
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=first[:, 1:])
    if first.all():  # no ties (NaN never ties): the rank is the sorted position + 1
        rank = np.broadcast_to(position + 1.0, wide.shape)
    else:
        last = np.ones(wide.shape, dtype=bool)
        last[:, :-1] = first[:, 1:]
        run_start = np.maximum.accumulate(np.where(first, position, 0), axis=1)
        run_end = np.minimum.accumulate(np.where(last, position, n_cols)[:, ::-1],
                                        axis=1)[:, ::-1]
        rank = (run_start + run_end + 2) / 2.0
    count = n_cols - np.count_nonzero(nan, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows without a value: NaN anyway
        pct = rank / count[:, None]
    out = np.empty_like(wide)
    np.put_along_axis(out, order, pct, axis=1)
    out[nan] = np.nan
    return out


def _members_only(wide: np.ndarray, member: np.ndarray | None) -> np.ndarray:
    """A date-grid column with the non-members' cells NaN (unchanged without a membership)."""
    return wide if member is None else np.where(member, wide, np.nan)


def _rank_columns(cols: dict[str, np.ndarray], lay: PanelLayout,
                  member: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Percentile rank of each RANKED_FEATURES column within its date's members (NaN stays
    NaN); member: the date grid's membership, None = every symbol."""
    return {f"rank_{name}": _long32(_pct_rank_rows(_members_only(lay.by_day(cols[name]),
                                                                 member)), lay)
            for name in RANKED_FEATURES}


def _long32(wide: np.ndarray, lay: PanelLayout) -> np.ndarray:
    """The rows' values of a date-grid column, as the float32 the dataset stores (cast on the
    grid: the long float64 copy would be the largest array of a big panel's cross-section)."""
    return wide.astype(np.float32)[lay.day, lay.sym]


def _residual_columns(close: np.ndarray, lay: PanelLayout,
                      member: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """RESIDUAL_FEATURES and their per-date ranks (among the members), on the date grid."""
    wide = residual_columns(lay.by_day(close), lay.days, member)
    wide |= {f"rank_{name}": _pct_rank_rows(_members_only(wide[name], member))
             for name in RESIDUAL_FEATURES}
    return {name: _long32(w, lay) for name, w in wide.items()}


def symbol_columns(p: PanelArrays, lay: PanelLayout, ranked_only: bool = False
                   ) -> dict[str, np.ndarray]:
    """The time-series part: SYMBOL_FEATURES (float64 over `p`'s rows), each row from its own
    symbol's bars alone, so any bucket of whole symbols gives the same values bit for bit.
    ranked_only: only RANKED_FEATURES, the cross-section's inputs, without the Alpha158-style
    ratios (80 % of the time at 5,000 symbols), the same values."""
    cols = indicator_columns(p)
    cols.update(_session_columns(p, lay, alpha=not ranked_only))
    return {c: cols[c] for c in RANKED_FEATURES} if ranked_only else cols


def cross_section_columns(ranked: dict[str, np.ndarray], close: np.ndarray,
                          lay: PanelLayout, member: np.ndarray | None = None
                          ) -> dict[str, np.ndarray]:
    """The cross-sectional part: CROSS_SECTION_FEATURES (float32 over the rows of `lay`).

    ranked: the RANKED_FEATURES columns (float64, as `symbol_columns` gave them; a float32
    copy would rank ties differently); close: `PanelArrays.close` of every symbol. Needs every
    symbol of the panel in bars' order: a date's ranks and the residual factors span them all.
    member: bool over the rows, whether the row's symbol was an index member on its date
    (aion_core.ml.universe; None = every row): a date's ranks then span its members, the
    residual factors are fitted on the members of each refit date, and a non-member's rank
    columns are NaN; its `resid_*` columns (its own residual returns against the members'
    factors) are kept, so a name that joins has them from its first day in the index.
    """
    grid = None if member is None else lay.flags_by_day(member)
    cols = _rank_columns(ranked, lay, grid)
    cols.update(_residual_columns(close, lay, grid))
    return cols


def feature_frame(symbols: pd.Series, dates: pd.Series,
                  cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """`symbol, date` then FEATURE_COLUMNS of `cols` as float32, fresh RangeIndex."""
    # One float32 block filled in place: pandas then adopts it without stacking columns.
    block = np.empty((len(FEATURE_COLUMNS), len(symbols)), dtype=np.float32)
    for i, name in enumerate(FEATURE_COLUMNS):
        block[i] = cols[name]
    frame = pd.DataFrame(block.T, columns=FEATURE_COLUMNS, copy=False)
    frame.insert(0, "date", dates.to_numpy())
    frame.insert(0, "symbol", symbols.to_numpy())
    return frame


def build_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Technical features of every bar.

    bars: long frame `symbol, date, open, high, low, close, volume` (prices adjusted, volume
    in shares), sorted by (symbol, date), one row per session; any index; optionally the
    bool MEMBER column (index membership on the row's date: `cross_section_columns`).
    Returns a frame with a fresh RangeIndex, one row per input row in the same order:
    `symbol, date` then FEATURE_COLUMNS as float32 (NaN during each indicator's warm-up).
    """
    p = panel_arrays(bars)
    lay = PanelLayout.of(p, bars["date"].to_numpy())
    cols = symbol_columns(p, lay)
    cols.update(cross_section_columns(cols, p.close, lay, member_rows(bars)))
    return feature_frame(bars["symbol"], bars["date"], cols)

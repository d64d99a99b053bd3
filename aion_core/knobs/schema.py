"""The bots' knobs: one schema, typed values, and the shape of `bots_config.json`.

The schema (`SWING_KNOBS[h]`, `DT_KNOBS`: type, default, bounds and help of each knob) is the
one source the bots, the config page's sliders, `.env.example` and the README read. A bot
never reads a knob by its name as a string: it gets a frozen `SwingKnobs` / `IntradayKnobs`,
whose fields a test holds equal to the schema, so a misspelt knob fails a test, not a run.

Three layers set a knob, each above the one before: the schema's default, the env files
(`knobs.env` for the swing bots, `dt_knobs.env` for the intraday bot; parsed by
`aion_core.knobs.env_file`), then `bots_config.json`; `knob_layers` is where they meet.
`bots_config.json` holds overrides only: `{"swing": {"1w": {knob: value}}, "dt": {...}}`.
A bot's place in it is its (section, horizon): ("swing", "1w") or ("dt", None); `overrides`
and `with_overrides` are the only code that knows that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field as PydField
from pydantic import ValidationError, create_model

from aion_core.config import HORIZONS
from aion_core.errors import KnobError

#: bots_config.json's sections, spelled here once: the swing bots' (by horizon) and the
#: intraday bot's; the bot registry gives each bot its section from these.
SWING_SECTION, DT_SECTION = "swing", "dt"
SECTIONS = (SWING_SECTION, DT_SECTION)

#: Where an effective knob value comes from (knob_layers), lowest layer first; the env file
#: names are those of PATHS["knobs_env"] and PATHS["dt_knobs_env"].
DEFAULT_SOURCE, CONFIG_SOURCE = "default", "bots_config.json"
ENV_SOURCES = {SWING_SECTION: "knobs.env", DT_SECTION: "dt_knobs.env"}


@dataclass(frozen=True)
class Knob:
    """One bot knob: the bots, the config page and the docs all read this."""

    name: str
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    help: str = ""


#: Not a risk rule: the bot keeps trading; AION_NOTIFY_URLS hears of it (aion_core/alerts/rules.py).
_DRAWDOWN_HELP = ("Notify when equity has fallen this fraction below its peak (0.20 = 20%); "
                  "trading is unaffected.")


def _swing_knobs(horizon: str) -> tuple[Knob, ...]:
    days = HORIZONS[horizon]
    # Wider stops and targets for longer holds: a 4-week move is about twice a 1-week one.
    scale = (days / 5) ** 0.5
    return (
        Knob("enabled", bool, True, help="Trade at all. Off: the bot runs, places no order."),
        Knob("aggression", float, 1.0, 0.1, 2.0, 0.05,
             "Scales the book: 1.0 puts 1/max_positions of equity in each name (at most "
             "max_alloc)."),
        Knob("max_positions", int, 10, 1, 100, 1, "Most names held at once."),
        Knob("max_alloc", float, 0.10, 0.01, 0.5, 0.01,
             "Largest share of equity put in one name, before aggression."),
        # Confidence is P(the name lands on its predicted side of the median), calibrated
        # out of sample. On the S&P 500 dev years its reliability table is flat (docs/BOTS.md):
        # it does not tell a better bet from a worse one, so it filters nothing by default
        # and the pages show it as information.
        Knob("min_confidence", float, 0.0, 0.0, 1.0, 0.01,
             "Ignore predictions whose calibrated confidence is below this (0 = off: on real "
             "data confidence has not sorted good bets from bad; informational)."),
        # The bar is in units of cost, not bp: a change of fees or slippage moves it.
        Knob("entry_cost_multiple", float, 1.0, 0.0, 10.0, 0.25,
             "Enter only when the name's excess forecast (its expected return less the day's "
             "mean over all names) exceeds this many round trips of slippage and fees."),
        Knob("hold_band", float, 2.0, 1.0, 10.0, 0.25,
             "Keep a held name while its rank is within this multiple of max_positions "
             "(2.0 with 10 positions: sell when it falls below 20th); new names enter from "
             "the top max_positions only."),
        # A forecast is for the horizon: selling a name on its rank before then acts on the
        # noise of a fast signal (on the S&P 500 dev years a hold band alone left the 2w and
        # 4w books turning over 65-120 times a year; docs/BOTS.md).
        Knob("min_hold_sessions", int, days, 0, 120, 1,
             "Keep a new name at least this many sessions, whatever its rank (the stop "
             "still applies); 0 = off. Default: the horizon."),
        Knob("rebalance_band", float, 0.5, 0.0, 5.0, 0.05,
             "Trade a kept name back to its target weight only when it is off by more than "
             "this fraction of the target (a no-trade band)."),
        Knob("stop_loss", float, round(0.15 * scale, 3), 0.005, 0.9, 0.005,
             "Catastrophe stop: sell when a position has lost this fraction since entry "
             "(wide: a ranking signal's exits are the hold band)."),
        Knob("take_profit", float, 0.0, 0.0, 2.0, 0.005,
             "Sell when a position has gained this fraction since entry (0 = off: a name "
             "leaves when its rank does)."),
        Knob("allow_short", bool, False, help="Also sell short the names predicted to fall."),
        Knob("slippage_bps", float, 5.0, 0.0, 100.0, 0.5,
             "Simulated fill slippage, basis points against us."),
        Knob("fee_bps", float, 1.0, 0.0, 100.0, 0.5, "Simulated fees, basis points of notional."),
        Knob("initial_cash", float, 100_000.0, 1_000.0, 10_000_000.0, 1_000.0,
             "Cash a new bot starts with (applies to a fresh state only)."),
        Knob("max_drawdown_alert", float, 0.20, 0.01, 1.0, 0.01, _DRAWDOWN_HELP),
    )


DT_KNOBS: tuple[Knob, ...] = (
    Knob("enabled", bool, True, help="Trade at all. Off: the cycle runs, places no order."),
    Knob("aggression", float, 1.0, 0.1, 2.0, 0.05, "Scales each position's size."),
    Knob("max_positions", int, 5, 1, 50, 1, "Most names held at once."),
    Knob("max_alloc", float, 0.10, 0.01, 0.5, 0.01, "Largest share of equity in one name."),
    Knob("min_confidence", float, 0.55, 0.0, 1.0, 0.01,
         "Ignore intraday predictions below this confidence."),
    Knob("stop_loss", float, 0.01, 0.001, 0.2, 0.001, "Intraday stop, fraction of entry."),
    Knob("take_profit", float, 0.02, 0.001, 0.5, 0.001, "Intraday target, fraction of entry."),
    Knob("no_entry_last_minutes", int, 30, 0, 120, 5, "No new entries this close to the close."),
    Knob("flat_last_minutes", int, 15, 0, 60, 5, "Close everything this close to the close."),
    Knob("slippage_bps", float, 2.0, 0.0, 100.0, 0.5, "Simulated slippage, basis points."),
    Knob("fee_bps", float, 0.5, 0.0, 100.0, 0.5, "Simulated fees, basis points of notional."),
    Knob("initial_cash", float, 100_000.0, 1_000.0, 10_000_000.0, 1_000.0,
         "Cash the intraday bot starts with (fresh state only)."),
    Knob("max_drawdown_alert", float, 0.10, 0.01, 1.0, 0.01, _DRAWDOWN_HELP),
)

SWING_KNOBS: dict[str, tuple[Knob, ...]] = {h: _swing_knobs(h) for h in HORIZONS}


# --------------------------------------------------------------------------- typed values


@dataclass(frozen=True, slots=True)
class BotKnobs:
    """The knobs every bot has (units as in the schema's help)."""

    enabled: bool
    aggression: float
    max_positions: int
    max_alloc: float
    min_confidence: float
    stop_loss: float
    take_profit: float
    slippage_bps: float
    fee_bps: float
    initial_cash: float
    max_drawdown_alert: float

    def __getitem__(self, name: str) -> Any:
        """`knobs["stop_loss"]` for code that walks the schema (tables, JSON); a name the
        schema does not have is a KeyError, never a default."""
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class SwingKnobs(BotKnobs):
    """A swing bot's knobs (SWING_KNOBS[h])."""

    entry_cost_multiple: float
    hold_band: float
    min_hold_sessions: int
    rebalance_band: float
    allow_short: bool


@dataclass(frozen=True, slots=True)
class IntradayKnobs(BotKnobs):
    """The intraday bot's knobs (DT_KNOBS)."""

    no_entry_last_minutes: int
    flat_last_minutes: int


KNOB_TYPES: dict[str, type[BotKnobs]] = {SWING_SECTION: SwingKnobs,
                                          DT_SECTION: IntradayKnobs}


# --------------------------------------------------------------------------- validation


def knob_schema(section: str, horizon: str | None = None) -> tuple[Knob, ...]:
    """The knobs of `section` ("swing" with a horizon, or "dt")."""
    if section == DT_SECTION:
        return DT_KNOBS
    if section == SWING_SECTION and horizon in SWING_KNOBS:
        return SWING_KNOBS[horizon]
    raise KnobError(f"unknown bot {section}/{horizon}")


#: Knobs of earlier releases and what replaced them: a bots_config.json that still sets one
#: is refused with this line (the bots keep their last state until it is edited).
RETIRED = {
    "min_expected_return": "the entry bar is now entry_cost_multiple, in round trips of "
                           "slippage and fees, on the forecast less the day's mean",
    "exit_on_reversal": "a held name now leaves when its rank falls out of hold_band",
}


def _model_for(knobs: tuple[Knob, ...]):  # -> type[BaseModel]
    model_fields = {}
    for k in knobs:
        bounds = {} if k.type is bool else {"ge": k.min, "le": k.max}
        if k.type is float:
            bounds["allow_inf_nan"] = False
        model_fields[k.name] = (k.type, PydField(k.default, description=k.help,
                                                 strict=k.type is bool, **bounds))
    return create_model("Knobs", __config__={"extra": "forbid"}, **model_fields)


def validate_knobs(section: str, overrides: Mapping[str, Any],
                   horizon: str | None = None) -> dict[str, Any]:
    """Overrides checked against the schema; refuses with a message naming the knob.

    Returns only the given overrides, coerced to their types (ints stay ints).
    """
    schema = knob_schema(section, horizon)
    try:
        model = _model_for(schema).model_validate(dict(overrides))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = f"{section}/{horizon}" if horizon else section
        if first["type"] == "extra_forbidden":
            retired = f" (retired: {RETIRED[name]})" if name in RETIRED else ""
            raise KnobError(f"unknown knob {name!r} for {where}{retired}", knob=name) from exc
        raise KnobError(f"knob {name!r} for {where}: {first['msg']} "
                        f"(got {first.get('input')!r})", knob=name) from exc
    return {name: getattr(model, name) for name in overrides}


def overrides(config: Mapping[str, Any] | None, section: str,
              horizon: str | None = None) -> dict[str, Any]:
    """One bot's overrides as stored in a bots_config document (unchecked)."""
    config = config or {}
    if section == SWING_SECTION:
        return dict((config.get(SWING_SECTION) or {}).get(horizon) or {})
    return dict(config.get(DT_SECTION) or {})


def with_overrides(config: Mapping[str, Any], section: str, horizon: str | None,
                   values: Mapping[str, Any] | None) -> dict[str, Any]:
    """`config` with one bot's overrides replaced by `values` (None or {} removes them)."""
    doc = dict(config)
    if section == SWING_SECTION:
        swing = dict(doc.get(SWING_SECTION) or {})
        swing.pop(horizon, None)
        if values:
            swing[horizon] = dict(values)
        doc[SWING_SECTION] = swing
        if not swing:
            doc.pop(SWING_SECTION)
    else:
        doc.pop(DT_SECTION, None)
        if values:
            doc[DT_SECTION] = dict(values)
    return doc


def knob_layers(config: Mapping[str, Any] | None, section: str, horizon: str | None = None,
                env: Mapping[str, Any] | None = None) -> dict[str, tuple[Any, str]]:
    """Each knob of one bot as (effective value, the layer it comes from): schema defaults <
    the env files (`env`: knobs.env and dt_knobs.env in the bots_config shape) <
    `bots_config.json` (`config`). The one place the layers meet, so the bots, the replay and
    the Config page's "from ..." captions cannot disagree; both documents are validated whole
    first, so no bot trades on a layer another bot would refuse."""
    layers = ((env, ENV_SOURCES[section]), (config, CONFIG_SOURCE))
    merged = {k.name: (k.default, DEFAULT_SOURCE) for k in knob_schema(section, horizon)}
    for doc, source in layers:
        values = overrides(validate_bots_config(doc or {}), section, horizon)
        merged.update({name: (value, source) for name, value in values.items()})
    return merged


def effective_knobs(config: Mapping[str, Any] | None, section: str, horizon: str | None = None,
                    env: Mapping[str, Any] | None = None) -> BotKnobs:
    """One bot's knobs in force (knob_layers' values), typed."""
    layered = knob_layers(config, section, horizon, env)
    return KNOB_TYPES[section](**{name: value for name, (value, _) in layered.items()})


def validate_bots_config(config: Any) -> dict[str, Any]:
    """A whole bots_config.json document checked: its shape, sections, horizons and every
    knob. The bots, `aion bots set`, the Config page and the store's reads all call this, so
    a document one of them refuses is refused by all."""
    if not isinstance(config, Mapping):
        raise KnobError("bots_config must be a JSON object {\"swing\": {...}, \"dt\": {...}}, "
                        f"not {_kind(config)}")
    unknown = set(config) - set(SECTIONS)
    if unknown:
        raise KnobError(f"unknown section(s) in bots_config: {sorted(unknown)} "
                        f"(known: {', '.join(SECTIONS)})")
    clean: dict[str, Any] = {}
    swing = _section(config, SWING_SECTION, "horizons (1w, 2w, 4w)")
    if swing:
        bad = set(swing) - set(HORIZONS)
        if bad:
            raise KnobError(f"unknown horizon(s) in bots_config: {sorted(bad)} "
                            f"(known: {', '.join(HORIZONS)})")
        clean[SWING_SECTION] = {h: validate_knobs(SWING_SECTION, _section(
            swing, h, "knobs", f"{SWING_SECTION}/"), h)
                          for h in swing}
    dt = _section(config, DT_SECTION, "knobs")
    if dt:
        clean[DT_SECTION] = validate_knobs(DT_SECTION, dt)
    return clean


def _section(doc: Mapping[str, Any], name: str, holds: str, prefix: str = "") -> dict[str, Any]:
    """`doc[name]` as a dict ({} when absent or null); any other shape is a KnobError."""
    value = doc.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise KnobError(f"bots_config {prefix}{name} must be an object of {holds}, "
                        f"not {_kind(value)}")
    return dict(value)


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 30 else text[:27] + '...'}"

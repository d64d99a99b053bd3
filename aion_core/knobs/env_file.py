"""`knobs.env` and `dt_knobs.env`: the knob layer between the schema's defaults and
`bots_config.json`.

The seed's design reads two env files of knobs, `knobs.env` (the swing bots) and
`dt_knobs.env` (the intraday bot). They live beside bots_config.json (PATHS["knobs_env"],
PATHS["dt_knobs_env"]) and suit values an operator keeps with a deployment or in version
control, while the Config page writes bots_config.json, which stays above them
(`knobs.knob_layers`).

Format, one setting per line: `KNOB=VALUE`; blank lines and `#` comments are skipped, as are
an `export ` before the name, quotes around the value and a ` # comment` after an unquoted
one. Names are the schema's, in any case (`STOP_LOSS`, `stop_loss`). In `knobs.env` a bare name
sets every swing bot, and `SWING_<H>_<KNOB>` (`SWING_1W_STOP_LOSS`, the bot's own name as a
prefix) one horizon, which wins over the bare line wherever it stands. Values are read with
the knob's type (booleans: true/false/1/0/yes/no) and checked against its bounds by the one
schema; a bad line is a KnobError naming the file, the line number and the knob.
"""

from __future__ import annotations

import re
from typing import Any

from aion_core.config import HORIZONS
from aion_core.errors import KnobError
from aion_core.knobs.schema import DT_SECTION, SWING_SECTION, Knob, knob_schema, validate_knobs

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_knobs_env(text: str, section: str, source: str) -> dict[str, Any]:
    """The knobs set by an env file's `text`, as a bots_config-shaped document:
    `{"swing": {"1w": {knob: value}, ...}}` for knobs.env (section "swing"), `{"dt": {...}}`
    for dt_knobs.env; `source` (the file's path) names the file in errors.

    Every line is checked before anything is returned, so a file is taken whole or refused.
    """
    every: dict[str, Any] = {}  # knobs.env's bare names: all swing horizons
    per: dict[str | None, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _entry(line, source, number)
        if entry is None:
            continue
        key, raw = entry
        if key in seen:
            raise KnobError(f"{source} line {number}: {key.upper()} is set again (first on "
                            f"line {seen[key]})", knob=key)
        seen[key] = number
        horizon, knob = _target(key, section, source, number)
        value = _value(knob, raw, source, number)
        all_swing = section == SWING_SECTION and horizon is None
        for h in HORIZONS if all_swing else [horizon]:
            _check(section, h, knob.name, value, source, number)
        (every if all_swing else per.setdefault(horizon, {}))[knob.name] = value
    if section == DT_SECTION:
        return {DT_SECTION: per[None]} if per else {}
    swing = {h: {**every, **per.get(h, {})} for h in HORIZONS if every or per.get(h)}
    return {SWING_SECTION: swing} if swing else {}


def _entry(line: str, source: str, number: int) -> tuple[str, str] | None:
    """(lower-case name, value text) of one line; None for a blank or comment line."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    match = _LINE.match(stripped)
    if match is None:
        raise KnobError(f"{source} line {number}: expected KNOB=VALUE, got {stripped!r}")
    name, raw = match.group(1).lower(), match.group(2).strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return name, raw[1:-1].strip()
    return name, re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def _target(key: str, section: str, source: str, number: int) -> tuple[str | None, Knob]:
    """The horizon a name addresses (None: every swing bot, or the intraday bot) and its knob."""
    horizon, name = None, key
    for h in HORIZONS if section == SWING_SECTION else ():
        if key.startswith(f"swing_{h}_"):
            horizon, name = h, key[len(f"swing_{h}_"):]
    schema = {k.name: k for k in knob_schema(section, horizon or next(iter(HORIZONS)))}
    if name not in schema:
        forms = "KNOB or SWING_<1W|2W|4W>_KNOB, " if section == SWING_SECTION else ""
        raise KnobError(f"{source} line {number}: unknown knob {key.upper()} ({forms}knobs: "
                        f"{', '.join(schema)})", knob=name)
    return horizon, schema[name]


def _value(knob: Knob, raw: str, source: str, number: int) -> Any:
    """`raw` read with the knob's type; the schema's bounds are checked by `_check`."""
    try:
        if knob.type is bool:
            return _BOOLS[raw.lower()]
        return knob.type(raw)
    except (KeyError, ValueError):
        wanted = {bool: "true/false/1/0/yes/no", int: "an int", float: "a float"}[knob.type]
        raise KnobError(f"{source} line {number}: knob {knob.name!r}: {raw!r} is not "
                        f"{wanted}", knob=knob.name) from None


def _check(section: str, horizon: str | None, name: str, value: Any, source: str,
           number: int) -> None:
    try:
        validate_knobs(section, {name: value}, horizon)
    except KnobError as exc:
        raise KnobError(f"{source} line {number}: {exc}", knob=name) from None

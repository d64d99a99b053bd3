"""Every bot, once: who it is, how it is configured, where its books live, which job runs it.

A bot is named four ways, each for one reader, and all four live here:
- `key` ("1w", "2w", "4w", "dt"): what a user types and picks (`--horizon`, the app's pickers);
- `name` ("swing_1w", ..., "dt"): the `bot` field of its state and trade lines, and the first
  part of its order ids (CONTRACT.md), so it never changes;
- `label` ("swing_1w", ..., "intraday"): what the app shows;
- (`section`, `horizon`): its place in `bots_config.json` and in the knob schema.
Pages, views, jobs, the scheduler and the CLI look bots up here instead of spelling them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aion_core.bots.ledger import session_key
from aion_core.config import HORIZONS, resolve
from aion_core.knobs.schema import (
    DT_SECTION,
    SWING_SECTION,
    BotKnobs,
    Knob,
    effective_knobs,
    knob_schema,
)

Kind = Literal["swing", "intraday"]

#: The scheduled jobs, by the one name the scheduler, the job locks, the admin page's run-now
#: buttons and `aion scheduler --dry-run` use.
NIGHTLY_JOB, SWING_JOB, INTRADAY_JOB = "nightly", "swing_bots", "intraday"
JOB_NAMES = (NIGHTLY_JOB, SWING_JOB, INTRADAY_JOB)


@dataclass(frozen=True)
class Bot:
    """One bot's identity (see the module docstring for the four names)."""

    key: str
    name: str
    label: str
    kind: Kind
    horizon: str | None  # swing horizon; None for the intraday bot
    job: str

    @property
    def section(self) -> str:
        """Its section of bots_config.json and of the knob schema."""
        return SWING_SECTION if self.kind == "swing" else DT_SECTION

    @property
    def sessions(self) -> int:
        """Trading sessions a swing position is meant to be held (the horizon's length)."""
        return HORIZONS[self.horizon] if self.horizon else 0

    def schema(self) -> tuple[Knob, ...]:
        return knob_schema(self.section, self.horizon)

    def knobs(self, config: dict | None, env: dict | None = None) -> BotKnobs:
        """Defaults < the env files' values (`env`, as Store.read_knob_env gives them) < the
        overrides of a bots_config document, validated (KnobError names a bad knob)."""
        return effective_knobs(config, self.section, self.horizon, env)

    def state_path(self, root: Path) -> Path:
        if self.kind == "swing":
            return resolve(root, "bot_state", horizon=self.horizon)
        return resolve(root, "dt_state_file")

    def trades_path(self, root: Path, session: str) -> Path:
        """The trade log a fill of `session` (YYYY-MM-DD) is appended to."""
        if self.kind == "swing":
            return resolve(root, "bot_trades", horizon=self.horizon,
                           yyyymmdd=session_key(session))
        return resolve(root, "dt_trades_file")

    def trade_files(self, root: Path) -> list[Path]:
        """Its trade logs that exist, oldest first."""
        if self.kind == "intraday":
            path = resolve(root, "dt_trades_file")
            return [path] if path.exists() else []
        folder = self.trades_path(root, "2000-01-01").parent
        return sorted(folder.glob("trades_*.jsonl")) if folder.is_dir() else []


SWING_BOTS: tuple[Bot, ...] = tuple(Bot(h, f"swing_{h}", f"swing_{h}", "swing", h, SWING_JOB)
                                    for h in HORIZONS)
INTRADAY_BOT = Bot("dt", "dt", "intraday", "intraday", None, INTRADAY_JOB)

#: Every bot by key, in the order the app shows them.
BOTS: dict[str, Bot] = {b.key: b for b in (*SWING_BOTS, INTRADAY_BOT)}


def swing_bot(horizon: str) -> Bot:
    """The swing bot of `horizon`; a KeyError names an unknown horizon."""
    bot = BOTS.get(horizon)
    if bot is None or bot.kind != "swing":
        raise KeyError(f"no swing bot for horizon {horizon!r}")
    return bot

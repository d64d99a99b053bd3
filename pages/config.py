"""Config: each bot's knobs as sliders and toggles, from the one knob schema.

Save validates and merges the bot's values into bots_config.json under its lock (views.
save_knobs); an invalid value is refused with the reason and nothing is written. Reset removes
the bot's overrides. The next bot run reads the file, so a change applies from then on.
bots_config.json sits above knobs.env / dt_knobs.env and the schema's defaults; a caption
under each knob names the layer its value comes from, so an operator sees why a slider does
not sit at its default.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from aion_core.app import views
from aion_core.app.views import validate_bots_config
from aion_core.bots.registry import Bot
from aion_core.errors import KnobError
from pages import _ui


def draw_diff(bot: Bot, values: dict[str, Any]) -> None:
    changed = [(k.name, k.default, values[k.name]) for k in bot.schema()
               if values[k.name] != k.default]
    if not changed:
        st.caption("All knobs at their defaults.")
        return
    st.markdown("**Differs from the defaults:** " + ", ".join(
        f"`{name}` {value} (default {default})" for name, default, value in changed))


def save(store, bot: Bot, values: dict[str, Any]) -> None:
    try:
        overrides = views.save_knobs(store, bot, values)
    except KnobError as exc:
        st.error(f"Not saved: {exc}", icon=":material/block:")
        return
    # Rerun so that the captions under the knobs name their new layer at once.
    st.session_state["config_flash"] = (f"Saved {bot.label}: {len(overrides)} override(s) in "
                                        "bots_config.json. The next bot run applies them.")
    st.rerun()


def reset(store, bot: Bot) -> None:
    views.reset_knobs(store, bot)
    for knob in bot.schema():
        st.session_state.pop(_ui.knob_key(bot, knob.name), None)
    st.session_state["config_flash"] = (f"{bot.label} reset: its bots_config.json overrides "
                                        "are removed.")
    st.rerun()


def json_ui(bot: Bot) -> dict[str, Any] | None:
    """Overrides pasted as JSON (for scripted or bulk changes); None when none applied."""
    with st.expander("Paste knob values as JSON"):
        text = st.text_area("Knob values", key=f"json_{bot.key}", height=90,
                            placeholder='{"max_positions": 12, "stop_loss": 0.04}')
        if not st.button("Apply JSON", key=f"apply_json_{bot.key}"):
            return None
    try:
        doc = json.loads(text or "{}")
    except ValueError as exc:
        st.error(f"Not saved: that is not JSON ({exc}).", icon=":material/block:")
        return None
    if not isinstance(doc, dict):
        st.error("Not saved: give a JSON object of knob: value.", icon=":material/block:")
        return None
    return doc


def draw_bot(store, bot: Bot, config: dict | None, env: dict | None) -> None:
    with st.form(f"knobs_{bot.key}", border=False):
        values = _ui.knobs_ui(bot, config, env=env, sources=True)
        a, b, _ = st.columns([1, 1, 4])
        do_save = a.form_submit_button("Save", type="primary", key=f"save_{bot.key}")
        do_reset = b.form_submit_button("Reset to defaults", key=f"reset_{bot.key}")
    if do_save:
        save(store, bot, values)
    if do_reset:
        reset(store, bot)
    pasted = json_ui(bot)
    if pasted is not None:
        save(store, bot, {**values, **pasted})
    draw_diff(bot, values)


def main() -> None:
    _, store = _ui.context()
    st.title("Bot knobs")
    st.caption("Changes are validated against the knob schema and merged into "
               "`bots_config.json`; the next bot run applies them. A knob's value comes from "
               "`bots_config.json`, else `knobs.env` (swing bots) / `dt_knobs.env` (intraday) "
               "in `ml_data/config/`, else the schema's default: the caption under each "
               "says which.")
    if flash := st.session_state.pop("config_flash", None):
        st.success(flash, icon=":material/check_circle:")
    config = env = None
    with _ui.guard("Bot knobs (bots_config.json)"):
        config = _ui.load(store, "doc", "bots_config")
        validate_bots_config(config or {})
    with _ui.guard("Knob env files (knobs.env, dt_knobs.env)"):
        env = _ui.load(store, "knob_env")
    bot = _ui.pick_bot("config_bot")
    draw_bot(store, bot, config if isinstance(config, dict) else None, env)


_ui.require_frame(__file__)
main()

"""Config: each bot's knobs as sliders and toggles, from the one knob schema.

Save validates and merges the bot's values into bots_config.json under its lock (views.
save_knobs); an invalid value is refused with the reason and nothing is written. Reset removes
the bot's overrides. The next bot run reads the file, so a change applies from then on.
bots_config.json sits above knobs.env / dt_knobs.env and the schema's defaults; a caption
under each knob names the layer its value comes from, so an operator sees why a slider does
not sit at its default.

Who may change them: with ADMIN_PASSWORD_HASH set, only an admin session (logged in on the
Admin page); anyone else sees the knobs read-only with one line saying how to log in, and
views.save_knobs / reset_knobs refuse the write themselves (auth.Access), so a crafted request
changes nothing either. Without a password (the demo) the page says that anyone can.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from aion_core.app import views
from aion_core.app.auth import Access
from aion_core.app.views import validate_bots_config
from aion_core.bots.registry import Bot
from aion_core.errors import KnobError, RefusedError
from pages import _ui


def draw_diff(bot: Bot, values: dict[str, Any]) -> None:
    changed = [(k.name, k.default, values[k.name]) for k in bot.schema()
               if values[k.name] != k.default]
    if not changed:
        st.caption("All knobs at their defaults.")
        return
    st.markdown("**Differs from the defaults:** " + ", ".join(
        f"`{name}` {value} (default {default})" for name, default, value in changed))


def save(store, bot: Bot, values: dict[str, Any], who: Access) -> None:
    try:
        overrides = views.save_knobs(store, bot, values, who)
    except (KnobError, RefusedError) as exc:
        st.error(f"Not saved: {exc}", icon=":material/block:")
        return
    # Rerun so that the captions under the knobs name their new layer at once.
    st.session_state["config_flash"] = (f"Saved {bot.label}: {len(overrides)} override(s) in "
                                        "bots_config.json. The next bot run applies them.")
    st.rerun()


def reset(store, bot: Bot, who: Access) -> None:
    try:
        views.reset_knobs(store, bot, who)
    except RefusedError as exc:
        st.error(f"Not reset: {exc}", icon=":material/block:")
        return
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


def draw_access(who: Access) -> None:
    """One line on who may change the knobs here."""
    if not who.gated:
        st.warning("No admin password is set (`ADMIN_PASSWORD_HASH`), so anyone who can open "
                   "this page can change the live knobs.", icon=":material/lock_open:")
    elif not who.may_change_knobs:
        st.info("Read-only: changing the live knobs needs the admin login. Log in on the "
                "**Admin** page (user `admin`), then come back.", icon=":material/lock:")


def draw_bot(store, bot: Bot, config: dict | None, env: dict | None, who: Access) -> None:
    locked = not who.may_change_knobs
    with st.form(f"knobs_{bot.key}", border=False):
        values = _ui.knobs_ui(bot, config, env=env, sources=True, disabled=locked)
        a, b, _ = st.columns([1, 1, 4])
        do_save = a.form_submit_button("Save", type="primary", key=f"save_{bot.key}",
                                       disabled=locked)
        do_reset = b.form_submit_button("Reset to defaults", key=f"reset_{bot.key}",
                                        disabled=locked)
    if do_save:
        save(store, bot, values, who)
    if do_reset:
        reset(store, bot, who)
    if not locked:
        pasted = json_ui(bot)
        if pasted is not None:
            save(store, bot, {**values, **pasted}, who)
    draw_diff(bot, values)


def main() -> None:
    settings, store = _ui.context()
    who = _ui.access(settings)
    st.title("Bot knobs")
    st.caption("Changes are validated against the knob schema and merged into "
               "`bots_config.json`; the next bot run applies them. A knob's value comes from "
               "`bots_config.json`, else `knobs.env` (swing bots) / `dt_knobs.env` (intraday) "
               "in `ml_data/config/`, else the schema's default: the caption under each "
               "says which.")
    draw_access(who)
    if flash := st.session_state.pop("config_flash", None):
        st.success(flash, icon=":material/check_circle:")
    config = env = None
    with _ui.guard("Bot knobs (bots_config.json)"):
        config = _ui.load(store, "doc", "bots_config")
        validate_bots_config(config or {})
    with _ui.guard("Knob env files"):
        env = _ui.load(store, "knob_env")
    bot = _ui.pick_bot("config_bot")
    draw_bot(store, bot, config if isinstance(config, dict) else None, env, who)


_ui.require_frame(__file__)
main()

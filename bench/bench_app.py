"""App speed: each page's script run under AppTest, cold (empty cache) and warm (cached).

Data root: 500 symbols with a year of daily bars and a year of history for every bot (tests/
app_data.py, CONTRACT.md formats). Prints ONE JSON line: seconds per page, cold and warm
(median of 3 warm runs). Goals: warm < 0.3 s, cold < 2 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

N_SYMBOLS, SESSIONS = 500, 252
PAGES = ["dashboard", "bots", "predictions", "models", "config", "logs", "admin"]


def main() -> None:
    import streamlit as st
    from app_data import add_models, build_filled_root
    from streamlit.testing.v1 import AppTest

    from aion_core.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_filled_root(Store(Path(tmp) / "data"), n_symbols=N_SYMBOLS, sessions=SESSIONS,
                          history_days=60)
        add_models(Store(Path(tmp) / "data"))  # the Models page's dataset and model files
        build_s = time.perf_counter() - t0
        os.environ["AION_DATA_DIR"] = str(Path(tmp) / "data")
        result: dict[str, object] = {"bench": "app", "symbols": N_SYMBOLS,
                                     "sessions": SESSIONS, "build_s": round(build_s, 1)}
        for page in PAGES:
            st.cache_data.clear()
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
            at.switch_page(f"pages/{page}.py")
            t = time.perf_counter()
            at.run()
            cold = time.perf_counter() - t
            assert not at.exception, (page, [e.value for e in at.exception])
            warm = []
            for _ in range(3):
                t = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t)
            result[page] = {"cold_s": round(cold, 3), "warm_s": round(statistics.median(warm), 3)}
        print(json.dumps(result))


if __name__ == "__main__":
    main()

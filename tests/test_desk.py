"""The desk: one loop for every bot. Runs in key order, fills exactly once, and a run the
journal has already passed changes nothing."""

from __future__ import annotations

import pandas as pd

from aion_core.bots.desk import Desk, MemoryJournal
from aion_core.bots.registry import swing_bot
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession
from aion_core.brokers.sim import SimBroker

BOT = swing_bot("1w")
KNOBS = BOT.knobs(None)
PRICES = pd.Series({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0})
# two names whose excess over the day's mean clears the cost bar, one far below it
PREDS = pd.DataFrame({"expected_return": [0.03, 0.02, -0.02], "confidence": [0.9, 0.9, 0.9]},
                     index=["AAA", "BBB", "CCC"])


class Counting(SimBroker):
    def __init__(self) -> None:
        super().__init__(PRICES, "t")
        self.sent: list[str] = []

    def submit(self, order):
        self.sent.append(order.order_id)
        return super().submit(order)


def run(day: str) -> SwingSession:
    return SwingSession(pd.Timestamp(day), PREDS, SessionPrices(PRICES, PRICES, PRICES, "t"), "t")


def desk(journal: MemoryJournal) -> Desk:
    return Desk(BOT, SwingPlanner(BOT, KNOBS), journal)


def test_a_run_trades_once_and_a_rerun_sends_nothing():
    journal = MemoryJournal()
    broker = Counting()
    first = desk(journal).trade(run("2024-03-04"), broker)
    assert first.ran and first.filled == 2 and len(broker.sent) == 2
    again = desk(journal).trade(run("2024-03-04"), broker)
    assert not again.ran and "already ran" in again.line() and len(broker.sent) == 2
    assert [f.session for f in journal.logged] == ["2024-03-04"] * 2


def test_a_run_that_died_after_its_fills_is_completed_without_resending():
    journal = MemoryJournal()
    desk(journal).trade(run("2024-03-04"), Counting())
    journal.state = None  # the state write of that run never happened
    broker = Counting()
    done = desk(journal).trade(run("2024-03-04"), broker)
    assert done.ran and done.filled == 2 and broker.sent == []
    assert journal.state["as_of"] == "2024-03-04" and len(journal.logged) == 2


def test_a_run_before_the_journals_last_run_is_in_the_past():
    journal = MemoryJournal()
    desk(journal).trade(run("2024-03-05"), Counting())
    journal.state = None  # a state restored from before the log's end
    d = desk(journal)
    assert d.done("20240304") and not d.done("20240306")
    broker = Counting()
    assert not d.trade(run("2024-03-04"), broker).ran and broker.sent == []

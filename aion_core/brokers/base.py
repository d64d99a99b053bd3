"""The one interface every broker implements.

`submit(order) -> Fill` executes (or finds, on a retry) the order whose deterministic
`order_id` it carries; the returned fill's `bot` and `session` are left for the caller, who
knows them. `positions()` and `account()` let a run check its books against the broker's.
"""

from __future__ import annotations

from typing import Protocol

from aion_core.bots.ledger import Fill, Order


class Broker(Protocol):
    name: str

    def submit(self, order: Order) -> Fill:
        """Execute `order`; a second submit of the same `order_id` returns the first fill."""
        ...

    def positions(self) -> dict[str, float]:
        """Signed share quantity per symbol held at the broker."""
        ...

    def account(self) -> dict[str, float]:
        """At least `cash` and `equity`."""
        ...

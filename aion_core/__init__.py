"""Aion Analytics: machine-learned stock signals, swing and intraday bots, and their workstation."""

from aion_core.threads import configure_process

__version__ = "0.1.0"

# Before any module loads OpenMP (aion_core.threads says why).
configure_process()

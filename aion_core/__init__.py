"""Aion Analytics: machine-learned stock signals, swing and intraday bots, and their workstation."""

__version__ = "0.1.0"

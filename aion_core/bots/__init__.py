"""Swing bots as pure functions: signals (orders from predictions), risk (exit rules),
sizing, swing (a session planned and closed) and ledger (fills <-> positions and cash)."""

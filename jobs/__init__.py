"""Orchestration: each job reads with aion_core.store, calls the pure domain, writes with the store.
Imports anything in aion_core but the app package; nothing in aion_core imports jobs (but cli)."""

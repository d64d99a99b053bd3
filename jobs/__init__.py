"""Orchestration: read with aion_core.store, call the pure domain, write with store."""

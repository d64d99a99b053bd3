"""Aion Analytics: the domain (ml, bots, knobs, alerts), its adapters (store, providers, brokers,
ingest, sql_copy), the app's read side (app) and the command line; no module here imports jobs
but cli, and none imports pages or Streamlit. Loose at the top: cli, config, errors,
market_hours, retry, runs (a job's run as its marker tells it) and threads."""

from aion_core.threads import configure_process

__version__ = "0.1.0"

# Before any module loads OpenMP (aion_core.threads says why).
configure_process()

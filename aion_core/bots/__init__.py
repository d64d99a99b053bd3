"""The bots, pure: registry (every bot once), desk, planners, signals, sizing, risk, ledger and
performance (a bot's figures). Imports config, errors and knobs; never ml, the store or an SDK."""

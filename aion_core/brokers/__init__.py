"""Brokers behind one interface (`base.Broker`): `sim.SimBroker`, `alpaca.AlpacaBroker` (alpaca-py).
Imports config, errors, retry and the bots' ledger; never the store, providers or ml."""

"""Brokers behind one interface (`base.Broker`): `sim.SimBroker`, `alpaca.AlpacaBroker`."""

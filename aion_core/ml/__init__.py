"""The ML domain, pure and as_of-aware: features (technical, sentiment, macro), labels, the
dataset, the LightGBM model and its calibration, regime and portfolio for the brain, and the
intraday features and model. Imports no store, provider, broker, UI or job."""

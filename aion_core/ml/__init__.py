"""The ML domain, pure and as_of-aware: features, labels, dataset, the LightGBM model and its
calibration, evaluation, regime, portfolio, brain, intraday model. Imports config and errors only.
"""

"""Data providers behind three small interfaces (base): synthetic (the default), yfinance, FRED,
Alpaca. Imports config, errors and retry; never the store, brokers, ml or the app."""

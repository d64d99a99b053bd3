"""Data providers behind three small interfaces (see base.py); `synthetic` is the default."""

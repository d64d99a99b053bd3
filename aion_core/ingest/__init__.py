"""Real data in, pure: vendor layouts (columns), the checks of daily bars (quality), vendor frames
to the contract's (normalise), reading a user's files (files). Imports config and errors only.

Orchestrated by jobs/imports.py.
"""

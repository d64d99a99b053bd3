"""Alerts: the rules that decide what to say, pure (rules), and the adapter that sends it through
Apprise (sender). rules imports config, errors and the domain; sender adds retry and Apprise."""

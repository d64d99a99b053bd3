"""The bots' knobs: the one schema with its typed values and bots_config.json's shape (schema),
and the env-file layer under it (env_file). Imports config and errors only: the domain reads it."""

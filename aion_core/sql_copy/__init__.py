"""The optional SQL copy of the jobs' figures (AION_METRICS_URL; the files stay the source of
truth): tables, rows from files, sync and the bounded publish. Imports the store and config."""

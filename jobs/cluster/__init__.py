"""The nightly on a Dask cluster: connection and the features step (dataset), training and
predictions (train), the steps gated as in one process (nightly). Imports jobs.nightly_steps,
jobs.collect and the domain; jobs.nightly imports it, never the other way round."""

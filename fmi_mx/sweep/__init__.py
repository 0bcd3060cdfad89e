"""Sweeps: experiment configs, their jobs, the worker pool, shards and the figures assembled from them."""

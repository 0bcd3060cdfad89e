"""The optimisation: the loop and the stream, the optimisers, and their settings."""

"""The package version, in a module of its own so that no module needs the package __init__."""
__version__ = "0.1.0"

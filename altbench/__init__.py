"""altbench: evaluate and train context-aware alt-text generators."""

__version__ = "0.1.0"

"""Statistics over per-item scores: bootstrap confidence intervals (and, later, paired tests)."""

"""Network clients shared across altbench (standard library only)."""

"""Exports of altbench's tasks to other evaluation harnesses (lmms-eval)."""

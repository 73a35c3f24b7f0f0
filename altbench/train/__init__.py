"""Built-in training recipes (SFT, DPO, MCM-DPO, mDPO, MPO) on TRL, and the ``altbench train-baseline`` command.

Only :mod:`altbench.train.config` and :mod:`altbench.train.negatives`'s pure helpers are cheap to import;
torch, transformers and TRL are imported inside the functions that need them.
"""

"""Rings across accounts: the engagement graph of many accounts and the detectors that read it.

Dense blocks (``fraudar``), lockstep groups (``lockstep``) and mutual-repost cores
(``mutual``) run over sparse matrices built by ``build``/``ingest``; ``table`` combines
them into the per-account ring table the feature frame and the service look up.
"""

"""Evaluation: metrics and baselines, the report, follower-model evaluation, ring injection.

``ring_injection`` plants rings into a graph to measure the ring detectors: an
evaluation tool, not the simulator's ring model (that is ``training.sim``).
"""

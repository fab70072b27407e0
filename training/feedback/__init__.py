"""Retraining on analysts' feedback, and comparing a candidate with the active model."""

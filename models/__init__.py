"""Estimators, the model artifact format (save/load/verify) and the shipped default artifact."""

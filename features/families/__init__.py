"""The signal families: one module per family of features.

Audience, growth, engagement, profile and the looked-up ring family (``rings``).

Each family reads the shared column arrays (``kernels.columns``) and returns its
registered features (``features.registry``) for every account at once.
"""

"""Persistence: the ORM tables, the engine per settings, data functions and migrations."""

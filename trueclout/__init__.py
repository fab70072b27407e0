"""TrueClout: separates quality influence from manipulation before a score is published."""

__version__ = "0.1.0"

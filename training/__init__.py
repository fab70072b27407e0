"""Data sets and adapters, the synthetic world, fitting, evaluation and reports."""

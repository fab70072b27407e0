"""One conformance suite, run over every estimator and detector (scikit-learn's check_estimator,
river's generic checks): seeding, row order, persistence, one item against many."""

"""Shipped data: the published JSON Schemas and small sample snapshots (see README.md here)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = DATA_DIR / "schema"
SAMPLES_DIR = DATA_DIR / "samples"

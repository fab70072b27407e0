"""The scoring runtime: snapshot -> assessment (features, model, adjusted score, reasons)."""

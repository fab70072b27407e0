"""Batch scoring: a large snapshot set -> one Parquet file of assessments, in process or on Dask."""

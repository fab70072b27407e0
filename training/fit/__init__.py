"""Fitting models: the account model (in process and on Dask) and the shipped default."""

"""Signal extraction: snapshot tables -> one feature row per account.

Pure numpy/scipy kernels over arrays segmented by account; no models and no
I/O beyond arguments.  Imports flow one way: features <- models <- (training, service).
"""

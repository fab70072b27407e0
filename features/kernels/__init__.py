"""Array kernels every feature family shares: segments by account, sorts, strings, columns.

Nothing here knows what a signal means; it groups, reduces and measures arrays so the
same code costs microseconds for one account and seconds for a million.
"""

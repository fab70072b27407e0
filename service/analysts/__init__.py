"""The analysts' side: the feedback queue, disputes, exports, drift and retention."""

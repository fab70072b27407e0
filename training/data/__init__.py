"""Labelled data sets: snapshot sets joined with labels, and labelled follower profiles."""

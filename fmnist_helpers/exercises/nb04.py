"""Checks for the exercises of notebook 04 (filled in with the exercises)."""

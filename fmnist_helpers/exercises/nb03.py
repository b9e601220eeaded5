"""Checks for the exercises of notebook 03 (filled in with the exercises)."""

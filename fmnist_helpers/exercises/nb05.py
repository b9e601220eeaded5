"""Checks for the exercises of notebook 05 (filled in with the exercises)."""

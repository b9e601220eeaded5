"""Checks for the exercises of notebook 09 (filled in with the exercises)."""

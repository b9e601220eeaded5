"""Checks for the exercises of notebook 11 (filled in with the exercises)."""

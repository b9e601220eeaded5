"""Checks for the exercises of notebook 10 (filled in with the exercises)."""

"""Checks for the exercises of notebook 02 (filled in with the exercises)."""

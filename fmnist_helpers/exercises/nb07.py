"""Checks for the exercises of notebook 07 (filled in with the exercises)."""

"""Checks for the exercises of notebook 06 (filled in with the exercises)."""

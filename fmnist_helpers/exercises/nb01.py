"""Checks for the exercises of notebook 01 (filled in with the exercises)."""

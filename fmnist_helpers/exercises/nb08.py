"""Checks for the exercises of notebook 08 (filled in with the exercises)."""

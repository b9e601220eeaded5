"""Checks for the exercises of notebook 14 (your own images)."""

from __future__ import annotations

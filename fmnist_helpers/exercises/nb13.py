"""Checks for the exercises of notebook 13 (generalization)."""

from __future__ import annotations

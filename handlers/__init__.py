"""Runbook step handlers, one module per system. They know their own system only."""

"""The runbook engine: runs a runbook step by step, pausing dangerous steps for a confirmation.

State lives in PostgreSQL (runs, steps, approvals) and is written before and after every step; the
environment lock lives in Redis (bot.coord). The engine emits RunChanges; bot.slack.run_messages turns
them into the run's Slack message and thread.
"""

"""Durable timers: incident procedure prompts, escalations and run follow-ups that survive restarts."""

from bot.scheduler.kinds import Handler
from bot.scheduler.model import Timer, TimerState
from bot.scheduler.service import Scheduler, TickResult

__all__ = ["Handler", "Scheduler", "TickResult", "Timer", "TimerState"]

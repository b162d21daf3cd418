"""Postmortems: what an incident's record says afterwards (build), as Markdown (markdown)."""

from bot.postmortem.build import Postmortem, build, load
from bot.postmortem.markdown import render

__all__ = ["Postmortem", "build", "load", "render"]

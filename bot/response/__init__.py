"""The runbook's incident-response procedure, run with people: prompts on durable timers, paging,
status-page updates, and the /incident commands' changes (see bot.response.install)."""

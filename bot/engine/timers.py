"""The engine's durable timers (bot.scheduler): a confirmation's expiry and a step's follow-up."""

CONFIRMATION = "run.confirmation"  # payload {run_id, position, approval_id}: expire an unanswered confirmation
FOLLOW_UP = "run.follow_up"  # payload {run_id, position}: a delayed step is due (e.g. cleanup after 24 h)
RETRY_BUSY_S = 600.0  # a follow-up that finds the environment busy tries again this much later


def confirmation_key(run_id: int, position: int) -> str:
    return f"run:{run_id}:confirm:{position}"


def follow_up_key(run_id: int, position: int) -> str:
    return f"run:{run_id}:follow-up:{position}"

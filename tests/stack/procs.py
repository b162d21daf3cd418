"""Whether a process still runs, for fixtures and tests that stop daemons."""

from pathlib import Path


def running(pid: int) -> bool:
    """Alive and not a zombie (a daemonised or orphaned process is reaped by init, which may take its time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}

"""Where the shipped data (runbooks/, example config) lives, in a checkout or an installed package."""

import sys
from pathlib import Path


def runbooks_dir() -> Path:
    checkout = Path(__file__).resolve().parent.parent / "runbooks"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "atl-bot" / "runbooks"

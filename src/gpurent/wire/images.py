"""An agent's answer to ``GET /images/<cid>``: whether a job on that image would start here
without a download (for a renter choosing a GPU), shared by the agent, the SDK and the gateway.

The answer is ``{"cid": "<cid>", "state": "ready" | "stored" | "absent"}``, at most
:data:`IMAGE_ANSWER_CAP` bytes: ``ready`` starts with no transfer and no load, ``stored`` is on
the provider's IPFS node but must be loaded into its engine, ``absent`` must be fetched. What a
provider says is its own word: anything else is refused (:func:`parse_image_state`).
"""

from __future__ import annotations

import re
from typing import Any

READY, STORED, ABSENT = "ready", "stored", "absent"
IMAGE_STATES = (READY, STORED, ABSENT)
IMAGE_ANSWER_CAP = 1024  # bytes of an answer read
CID_SHAPE = re.compile(r"[A-Za-z0-9]{1,128}")  # base32 / base58 letters: never a path, a query or a space


def parse_image_state(data: Any, cid: str) -> str:
    """The state ``data`` gives for ``cid``; ValueError when it is not an answer about it."""
    if not isinstance(data, dict) or data.get("cid") != cid:
        raise ValueError(f"not an answer about image {cid}")
    state = data.get("state")
    if state not in IMAGE_STATES:
        raise ValueError(f"an image state must be one of {', '.join(IMAGE_STATES)}")
    return str(state)

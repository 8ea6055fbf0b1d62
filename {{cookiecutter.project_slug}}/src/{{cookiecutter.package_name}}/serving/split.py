"""Which model answers a record in an A/B test: a stable hash of the record's key.

The same key always gets the same arm (a user sees one model for the whole test, whichever
replica answers, across restarts), and the keys below `share` of the hash range are the
challenger's. No state is kept: the arm is a function of the key.
"""

from __future__ import annotations

import hashlib

CHAMPION_ARM = "champion"
CHALLENGER_ARM = "challenger"
SHADOW_ARM = "shadow"  # the model on trial scoring beside the champion: logged, not returned
HASH_RANGE = float(2**64)


def in_challenger_arm(key: str | None, share: float) -> bool:
    """Whether the record with this key is answered by the challenger. A record without a key
    is the champion's: it could not be kept in one arm."""
    if key is None:
        return False
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / HASH_RANGE < share

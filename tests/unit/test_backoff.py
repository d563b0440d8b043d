from __future__ import annotations

import random

from kiosk.sync.client import Backoff


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff, rng = Backoff(base_s=0.5, cap_s=60), random.Random(1)
    delays = [backoff.next_delay(rng) for _ in range(12)]
    ceilings = [min(60, 0.5 * 2**i) for i in range(12)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert delays[-1] <= 60 and delays[-1] >= 30
    assert len({round(d, 6) for d in delays}) == 12  # jittered, not a fixed ladder
    backoff.reset()
    assert backoff.next_delay(rng) <= 0.5

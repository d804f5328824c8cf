"""How long each model's tasks have taken lately, from Run's answer to their end as this server
followed them: the polling fallback's cue for when an end that comes without warning is due. Kept in
memory, bounded, per model; a model this process has not yet seen run has no window."""

from __future__ import annotations

import collections
import math

from wiro_mcp.wiro.watch import RunWindow

KEPT_PER_MODEL = 20  # the latest run times of each model
MODELS_KEPT = 500  # models remembered at once: the least recently run is forgotten first
FEWEST = 3  # run times a window needs: fewer say too little of a model's spread
WIDENED = 0.05  # of the middle run time, added each side: a few run times understate the spread


class RunTimes:
    def __init__(self) -> None:
        self._seconds: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"RunTimes(models={len(self._seconds)})"

    def add(self, model: str, seconds: float) -> None:
        if not model or not math.isfinite(seconds) or seconds <= 0:
            return
        kept = self._seconds.pop(model, None) or collections.deque(maxlen=KEPT_PER_MODEL)
        kept.append(seconds)
        self._seconds[model] = kept  # now the most recently run
        while len(self._seconds) > MODELS_KEPT:
            self._seconds.popitem(last=False)

    def window(self, model: str) -> RunWindow | None:
        """Where most of the model's latest run times fall (the 10th to the 90th percentile), widened
        a little; None until it has run often enough here."""
        kept = sorted(self._seconds.get(model, ()))
        if len(kept) < FEWEST:
            return None
        low = kept[int(0.1 * (len(kept) - 1))]
        high = kept[math.ceil(0.9 * (len(kept) - 1))]
        margin = WIDENED * kept[len(kept) // 2]
        return RunWindow(max(low - margin, 0.0), high + margin)

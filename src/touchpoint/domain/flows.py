"""What a move between stages means on the lifecycle map — a loss, a slide into risk, a win-back
or a step along the lifecycle — worked out from the stage model in force, never from the
stages' names (a model may call its overlays anything).

The model's overlays say it: an overlay entered only from other overlays (every way in has a
`from` naming overlays, as the default's win_back is entered from churned) is a **win-back**; of
the others, the highest level is the **loss** (churned overrides at_risk) and any lower one is
**at risk**. A move into a loss or risk overlay is that; a move into a win-back overlay, or out
of a loss or risk overlay back to a progression stage (a recovery), is a win-back; anything else
moves along.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from touchpoint.domain.stages import StageModel

LOSS: Final = "loss"
RISK: Final = "risk"
WIN_BACK: Final = "win_back"
ALONG: Final = "along"
KINDS: Final = (LOSS, RISK, WIN_BACK, ALONG)


def overlay_kinds(model: StageModel) -> dict[str, str]:
    """Each overlay's name -> LOSS, RISK or WIN_BACK (progression stages are not in it)."""
    names = set(model.overlay_names)
    kinds: dict[str, str] = {}
    for overlay in model.overlays:
        ways_in = overlay.enter
        if ways_in and all(r.from_ and r.from_ <= names for r in ways_in):
            kinds[overlay.name] = WIN_BACK
    falling = sorted(
        (o for o in model.overlays if o.name not in kinds), key=lambda o: o.level, reverse=True
    )
    for i, overlay in enumerate(falling):
        kinds[overlay.name] = LOSS if i == 0 else RISK
    return kinds


def flow_kind(kinds: Mapping[str, str], from_stage: str | None, to_stage: str) -> str:
    """The meaning of a move from `from_stage` (None: the customer's first) to `to_stage`."""
    into = kinds.get(to_stage)
    if into is not None:
        return into
    if from_stage is not None and kinds.get(from_stage) in (LOSS, RISK):
        return WIN_BACK  # back to a progression stage: recovered
    return ALONG

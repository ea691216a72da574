"""The base of every recipe section, a leaf module: layers, models and the trainer declare their
options with it without importing the recipe machinery above them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """Base of every recipe section: unknown keys are errors; assignments are validated."""

    # NaN and infinity are refused in every section: no setting means them, and a NaN learning rate
    # would otherwise surface as an optimizer's traceback.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=(), allow_inf_nan=False)


# The kinds of number a recipe holds, checked where each key is declared: a size, count or number of
# steps of 0 or below would train nothing, or hang, or fail deep inside a library with a traceback.
Count = Annotated[int, Field(ge=1)]  # a whole number of 1 or more: sizes, layers, steps, epochs
Natural = Annotated[int, Field(ge=0)]  # a whole number of 0 or more (0 turns the feature off)
Positive = Annotated[float, Field(gt=0)]  # a rate or a duration above 0
NonNegative = Annotated[float, Field(ge=0)]  # a penalty or weight, 0 for none
Probability = Annotated[float, Field(ge=0, lt=1)]  # a dropout or smoothing share: 1 would drop everything
Share = Annotated[float, Field(gt=0, lt=1)]  # a part of a whole: neither nothing nor all of it

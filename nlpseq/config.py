"""The base of every recipe section, a leaf module: layers, models and the trainer declare their
options with it without importing the recipe machinery above them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every recipe section: unknown keys are errors; assignments are validated."""

    # NaN and infinity are refused in every section: no setting means them, and a NaN learning rate
    # would otherwise surface as an optimizer's traceback.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=(), allow_inf_nan=False)

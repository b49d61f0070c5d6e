"""What a front end (the desktop app, a script) needs of the engine beyond the pipeline's own modules:
the models a process loads, and the one error type every operator message is. Front ends import these
from here, not from ``models``, so that the pipeline stays their one way in."""

from __future__ import annotations

from models.errors import SpotterError
from models.loader import ModelConfig, ModelSet

__all__ = ["ModelConfig", "ModelSet", "SpotterError"]

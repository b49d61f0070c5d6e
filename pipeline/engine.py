"""What a front end (the desktop app, a script) needs of the engine beyond the pipeline's own modules:
the models a process loads, and the one error type every operator message is. Front ends import these
from here, not from ``models``, so that the pipeline stays their one way in."""

from __future__ import annotations

from collections.abc import Callable

from models.errors import SpotterError
from models.loader import ModelConfig, ModelSet, library_reid
from pipeline.storage import Library

__all__ = ["ModelConfig", "ModelSet", "SpotterError", "models_for_library"]


def models_for_library(library: Library, make_models: Callable[[], ModelSet] = ModelSet) -> ModelSet:
    """The front end's models, with the ReID model the library was switched to (``adapt-reid``) in
    place of the default one; a ModelSet configured with another ReID model is left as it is."""
    models = make_models()
    active = library.active_reid()
    if not active or models.config.reid.weights != ModelConfig().reid.weights:
        return models
    return ModelSet(library_reid(models.config, active), models.store)

"""The models a Spotter process uses, loaded on first need from verified weight files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from models.detector import DetectorConfig, PersonDetector
from models.onnx_file import check_onnx_file
from models.providers import DeviceChoice, choose_device
from models.reid import ReidConfig, ReidEmbedder
from models.weights import WeightStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelConfig:
    """Which weights and settings to use, and where to run them (``auto``, ``cpu`` or ``cuda``)."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    reid: ReidConfig = field(default_factory=ReidConfig)
    device: str = "auto"
    trust_model: bool = False  # load a .pt checkpoint that is not a known model (it can run code)


class ModelSet:
    """Lazily loaded detector and ReID embedder sharing one device choice.

    Loading is deferred so that a search that needs only the embedder, or a ``doctor`` run, does not
    pay for the other model. Not thread-safe: each worker thread should own its ModelSet.
    """

    def __init__(self, config: ModelConfig = ModelConfig(), store: WeightStore | None = None):
        self.config = config
        self.store = store or WeightStore()
        self._device: DeviceChoice | None = None
        self._detector: PersonDetector | None = None
        self._reid: ReidEmbedder | None = None

    @property
    def device(self) -> DeviceChoice:
        if self._device is None:
            self._device = choose_device(self.config.device)
            log.info("models run on %s", self._device.label)
        return self._device

    @property
    def detector(self) -> PersonDetector:
        if self._detector is None:
            path = self.store.resolve(self.config.detector.weights)
            self.store.check_safe(path, self.config.trust_model)
            self._detector = PersonDetector(
                path, self.config.detector, self.device.torch_device, self.device.ort_providers
            )
        return self._detector

    @property
    def reid(self) -> ReidEmbedder:
        if self._reid is None:
            path = self.store.resolve(self.config.reid.weights)
            self._reid = ReidEmbedder(path, self.config.reid, self.device.ort_providers)
        return self._reid

    def check_files(self) -> None:
        """Refuse a model file that is missing or no ONNX model (empty, cut short, another kind of
        file) without loading it: what a process that only decides can check (a Ray job's head,
        whose workers load the models)."""
        for what, weights in (
            ("detector", self.config.detector.weights),
            ("ReID model", self.config.reid.weights),
        ):
            path = self.store.resolve(weights)
            if path.suffix.lower() == ".onnx":
                check_onnx_file(path, what)

    @property
    def detector_id(self) -> str:
        """Identity of the detector (its file name); known without loading the model."""
        return self.store.resolve(self.config.detector.weights).name

    @property
    def reid_id(self) -> str:
        """Identity of the embedding space: vectors of different ReID models are never compared.
        Known without loading the model, so skipping an indexed video or opening a library is instant."""
        tag = "+flip" if self.config.reid.flip else ""
        return f"{self.store.resolve(self.config.reid.weights).name}{tag}"


def library_reid(config: ModelConfig, active: dict | None) -> ModelConfig:
    """``config`` with the ReID model a library was switched to (``Library.active_reid``), checked:
    the file must still be there with the content the library was embedded with."""
    if not active:
        return config
    from dataclasses import replace
    from pathlib import Path

    from models.errors import WeightsError
    from models.weights import sha256_of

    path = Path(active["path"])
    if not path.is_file():
        raise WeightsError(
            f"the library uses the ReID model {active['id']} from {path}, which is missing: put it back, "
            "or pass --reid-model with a copy of it"
        )
    if sha256_of(path) != active["sha256"]:
        raise WeightsError(
            f"the library uses the ReID model {active['id']}, but {path} now holds other content "
            "(SHA-256 differs): restore that model, or re-embed the library with this one"
        )
    return replace(config, reid=replace(config.reid, weights=str(path)))

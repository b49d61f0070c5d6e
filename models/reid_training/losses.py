"""The losses of metric learning for ReID: an identity loss (softmax or additive angular margin) on a
classifier head, plus the batch-hard triplet loss on the embeddings (Hermans et al., "In Defense of
the Triplet Loss", 2017; Deng et al., "ArcFace", 2019), as in torchreid's and fast-reid's engines.

Written here rather than taken from a library because each is a few lines of torch and the libraries
that have them (torchreid, pytorch-metric-learning) would add a dependency for ten lines.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """For each anchor, its farthest positive and nearest negative in the batch (Euclidean distance of
    L2-normalised features): ``mean(relu(d_ap - d_an + margin))``. Anchors without a positive or a
    negative in the batch are left out; a batch with none gives 0."""
    f = F.normalize(features, dim=1)
    dist = torch.cdist(f, f).clamp_min(1e-12)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    usable = pos.any(1) & neg.any(1)
    if not usable.any():
        return features.sum() * 0.0
    d_ap = torch.where(pos, dist, torch.zeros_like(dist)).max(1).values
    d_an = torch.where(neg, dist, torch.full_like(dist, float("inf"))).min(1).values
    return F.relu(d_ap - d_an + margin)[usable].mean()


class SoftmaxHead(nn.Module):
    """A linear classifier over the identities (the plain identity loss)."""

    def __init__(self, dim: int, classes: int):
        super().__init__()
        self.fc = nn.Linear(dim, classes, bias=False)
        nn.init.normal_(self.fc.weight, std=0.001)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.fc(features)


class ArcFaceHead(nn.Module):
    """Additive angular margin: logits ``s * cos(theta_y + m)`` for the true class and ``s * cos
    theta_j`` for the others, on normalised features and class centres. ``scale`` sets how peaked the
    softmax is; ``margin`` (radians) how much closer to its centre a feature must be than to others."""

    def __init__(self, dim: int, classes: int, scale: float, margin: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, dim))
        nn.init.xavier_uniform_(self.weight)
        self.scale, self.margin = scale, margin

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.linear(F.normalize(features, dim=1), F.normalize(self.weight, dim=1)).clamp(
            -1 + 1e-7, 1 - 1e-7
        )
        if not self.training:
            return self.scale * cos
        theta = torch.acos(cos)
        target = torch.cos(theta + self.margin)
        # past pi - m the margin would make cos grow again: fall back to a linear penalty there
        target = torch.where(theta + self.margin < math.pi, target, cos - self.margin * math.sin(self.margin))
        one_hot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.scale * (one_hot * target + (1 - one_hot) * cos)


def make_head(kind: str, dim: int, classes: int, arc_scale: float, arc_margin: float) -> Any:
    """The identity head for ``--loss softmax|arcface``."""
    if kind == "softmax":
        return SoftmaxHead(dim, classes)
    if kind == "arcface":
        return ArcFaceHead(dim, classes, arc_scale, arc_margin)
    raise ValueError(f"unknown identity loss {kind!r} (softmax or arcface)")

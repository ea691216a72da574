"""Accuracy, macro-F1 and confusion matrices for label predictions."""

from __future__ import annotations

import os
from typing import Sequence

import torch


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], num_labels: int) -> torch.Tensor:
    """``m[g, p]`` counts items of gold label ``g`` predicted as ``p``."""
    m = torch.zeros(num_labels, num_labels, dtype=torch.long)
    if len(gold):
        idx = torch.as_tensor(gold) * num_labels + torch.as_tensor(pred)
        m += torch.bincount(idx, minlength=num_labels * num_labels).view(num_labels, num_labels)
    return m


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Percent of items predicted right (0 for no items)."""
    if not len(gold):
        return 0.0
    return 100.0 * sum(int(g == p) for g, p in zip(gold, pred)) / len(gold)


def macro_f1(conf: torch.Tensor) -> float:
    """Unweighted mean of per-label F1 over labels that occur in gold or predictions, in percent."""
    tp = conf.diag().double()
    gold, pred = conf.sum(1).double(), conf.sum(0).double()
    present = (gold + pred) > 0
    f1 = torch.where(gold + pred > 0, 2 * tp / (gold + pred).clamp(min=1), torch.zeros_like(tp))
    return float(100.0 * f1[present].mean()) if present.any() else 0.0


def plot_confusion(conf: torch.Tensor, labels: Sequence[str], path: str | os.PathLike, title: str = "") -> None:
    """Save a confusion-matrix heatmap (rows gold, columns predicted) as PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path

    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(conf.numpy(), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    vmax = int(conf.max()) if conf.numel() else 0
    for g in range(len(labels)):
        for p in range(len(labels)):
            v = int(conf[g, p])
            ax.text(p, g, str(v), ha="center", va="center", color="white" if v > vmax / 2 else "black")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

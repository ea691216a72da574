"""Plots written as PNG files: attention heatmaps."""

from __future__ import annotations

import os
from typing import Any

from .fileio import atomic_path


def plot_attention(attention: dict[str, Any], path: str | os.PathLike) -> None:
    """Heatmap of attention weights: target pieces as rows, source pieces as columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, tgt, weights = attention["source"], attention["target"], attention["weights"]
    fig, ax = plt.subplots(figsize=(0.45 * len(src) + 2, 0.4 * len(tgt) + 1.5))
    ax.imshow(weights, cmap="Greys", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(len(src)), src, rotation=60, ha="right")
    ax.set_yticks(range(len(tgt)), tgt[: len(weights)])
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

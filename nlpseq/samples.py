"""Small corpora the project writes itself, for the demo and for tests without the real corpora.

The sentiment sample is a toy treebank in the SST format: sentences from a small grammar
whose phrase labels follow simple rules (intensifiers strengthen, negation flips, 'but'
defers to its second clause), so a model has something real to learn.
"""

from __future__ import annotations

import random
from pathlib import Path

from .fileio import atomic_write_text

_ADJ = {
    0: ["awful", "terrible", "dreadful", "unbearable"],
    1: ["dull", "weak", "boring", "clumsy", "tedious"],
    2: ["long", "french", "new", "quiet", "familiar"],
    3: ["good", "pleasant", "charming", "solid", "funny"],
    4: ["brilliant", "wonderful", "superb", "stunning"],
}
_NOUNS = ["film", "movie", "story", "plot", "cast", "script", "ending", "soundtrack", "acting", "director"]
_NEGATE = {0: 3, 1: 3, 2: 2, 3: 1, 4: 1}
_STRONGER = {0: 0, 1: 0, 2: 2, 3: 4, 4: 4}


def _leaf(word: str) -> tuple[int, str]:
    return 2, f"(2 {word})"


def _node(label: int, left: str, right: str) -> tuple[int, str]:
    return label, f"({label} {left} {right})"


def _adjp(rng: random.Random) -> tuple[int, str]:
    label = rng.choice(list(_ADJ))
    adj = (label, f"({label} {rng.choice(_ADJ[label])})")
    kind = rng.random()
    if kind < 0.25:
        return _node(_STRONGER[label], "(2 very)", adj[1])
    if kind < 0.45:
        return _node(_NEGATE[label], "(2 not)", adj[1])
    return adj


def _clause(rng: random.Random) -> tuple[int, str]:
    np = _node(2, "(2 the)", f"(2 {rng.choice(_NOUNS)})")
    adjp = _adjp(rng)
    vp = _node(adjp[0], "(2 is)", adjp[1])
    return _node(vp[0], np[1], vp[1])


def sentiment_tree(rng: random.Random) -> str:
    """One labelled binary tree in SST bracket format."""
    first = _clause(rng)
    if rng.random() < 0.3:
        second = _clause(rng)
        but = _node(second[0], "(2 but)", second[1])
        first = _node(second[0], first[1], but[1])
    return _node(first[0], first[1], "(2 .)")[1]


def write_sentiment_sample(folder: str | Path, n_train: int = 400, n_dev: int = 100, seed: int = 13) -> None:
    """Write ``train.txt`` and ``dev.txt`` (distinct trees) into ``folder``."""
    rng = random.Random(seed)
    seen: set[str] = set()
    trees: list[str] = []
    while len(trees) < n_train + n_dev:
        t = sentiment_tree(rng)
        if t not in seen:
            seen.add(t)
            trees.append(t)
    folder = Path(folder)
    atomic_write_text(folder / "train.txt", "\n".join(trees[:n_train]) + "\n")
    atomic_write_text(folder / "dev.txt", "\n".join(trees[n_train:]) + "\n")


if __name__ == "__main__":
    write_sentiment_sample(Path(__file__).resolve().parent.parent / "data" / "sentiment-sample")

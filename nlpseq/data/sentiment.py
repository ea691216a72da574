"""Labelled texts for sentiment: SST trees (roots or all phrases), sentence polarity, movie reviews, TSV."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from .corpora import resolve_ref
from .halves import take_half
from .readers import iter_package_files, read_labelled_lines
from .trees import BINARY_LABELS, SST_LABELS, binary_label, read_sentiment_trees, tree_tokens


@dataclass
class LabelledSet:
    """Token sequences with label ids; ``fine_gold`` keeps SST's 0-4 labels for binary scoring."""

    tokens: list[list[str]] | None  # given for treebanks; None: the task's tokenizer splits ``texts``
    labels: list[int]
    texts: list[str]  # raw or detokenized text (roots only for treebanks), for lexicon baselines
    fine_gold: list[int] | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)


def sst_label_names(scheme: str) -> tuple[str, ...]:
    return SST_LABELS if scheme == "fine" else BINARY_LABELS


def _to_scheme(fine: int, scheme: str) -> int | None:
    return fine if scheme == "fine" else binary_label(fine)


def read_sst(path: Path, scheme: str, phrases: bool, half: str | None = None) -> LabelledSet:
    """Roots (or every phrase, deduplicated) of an SST file, labelled by ``scheme`` (fine|binary);
    with ``half`` (A or B), of that half of the file's trees (:mod:`nlpseq.data.halves`)."""
    from ..nltk_light import nltk  # noqa: F401  (nltk without scipy, before its tokenizers)
    from nltk.tokenize import TreebankWordDetokenizer

    detok = TreebankWordDetokenizer()
    out = LabelledSet([], [], [], [], f"{path}@{half}" if half else str(path))
    seen: set[tuple[tuple[str, ...], int]] = set()
    trees = read_sentiment_trees(path)
    for tree in take_half(trees, half, [t.label() for t in trees]):
        nodes = tree.subtrees() if phrases else [tree]
        for node in nodes:
            fine = int(node.label())
            lab = _to_scheme(fine, scheme)
            leaves = tuple(tree_tokens(node))
            if phrases:
                if lab is None and scheme != "fine":
                    continue
                if (leaves, fine) in seen:
                    continue
                seen.add((leaves, fine))
            if lab is None:  # binary scheme keeps neutral roots only as fine_gold for reporting
                continue
            out.tokens.append(list(leaves))
            out.labels.append(lab)
            out.fine_gold.append(fine)
            if not phrases:  # detokenizing is slow; only evaluation sets, which are roots, need text
                out.texts.append(detok.detokenize(list(leaves), convert_parentheses=True))
    return out


def _split(items: list, fraction: float, seed: int, part: str) -> list:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_dev = int(round(len(items) * fraction))
    chosen = order[:n_dev] if part == "dev" else order[n_dev:]
    return [items[i] for i in sorted(chosen)]


def read_package(corpus: str, part: str, fraction: float, seed: int) -> LabelledSet:
    """The train or dev part of a two-class nltk package, split by a seeded shuffle."""
    root = resolve_ref(corpus).parent
    rows: list[tuple[str, int]] = []
    if corpus == "sentence-polarity":
        for name, text in iter_package_files(root, "sentence_polarity", encoding="latin-1"):
            if name.endswith((".neg", ".pos")):
                lab = int(name.endswith(".pos"))
                rows += [(line.strip(), lab) for line in text.splitlines() if line.strip()]
    else:
        for name, text in iter_package_files(root, "movie_reviews"):
            if name.startswith(("neg/", "pos/")):
                rows.append((" ".join(text.split()), int(name.startswith("pos/"))))
    if not rows:
        raise DataError(f"{root}: corpus '{corpus}' holds no labelled texts")
    rows = _split(rows, fraction, seed, part)
    texts = [t for t, _ in rows]
    return LabelledSet(None, [lab for _, lab in rows], texts, None, f"{corpus}:{part}")


def read_tsv(path: Path, label_names: list[str] | None) -> tuple[LabelledSet, list[str]]:
    """A ``label<TAB>text`` file; label names come from training data, or are taken from here."""
    pairs = read_labelled_lines(path)
    names = label_names or sorted({lab for lab, _ in pairs})
    index = {n: i for i, n in enumerate(names)}
    for lab, _ in pairs:
        if lab not in index:
            raise DataError(f"{path}: label '{lab}' is not one of the model's labels {names}")
    texts = [t for _, t in pairs]
    return LabelledSet(None, [index[lab] for lab, _ in pairs], texts, None, str(path)), names


def looks_like_trees(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    return head.startswith(b"(")

"""Labelled and unlabelled bracket scores, as evalb scores them with its COLLINS.prm settings.

COLLINS.prm: punctuation (words whose *gold* tag is ``, : `` '' .``) is deleted from both trees
before spans are counted; the root bracket (``TOP``/``ROOT``/unlabelled) and part-of-speech
brackets are not counted; ``ADVP`` and ``PRT`` are the same label; brackets are matched as
multisets. PYEVALB, the Python evalb on PyPI, matches sets and keeps punctuation, so it
cannot reproduce these numbers; this module is checked against hand-computed cases instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nltk_light import Tree

PUNCTUATION_TAGS = frozenset({",", ":", "``", "''", "."})
ROOT_LABELS = frozenset({"", "TOP", "ROOT"})
EQUAL_LABELS = {"PRT": "ADVP"}


def brackets(tree: Tree, keep: list[bool]) -> Counter:
    """Multiset of ``(label, start, end)`` over the kept words, for every phrase of ``tree``.

    ``keep[i]`` says whether word ``i`` counts (False for punctuation); spans are in kept-word
    positions, and a phrase that covers only deleted words is not counted.
    """
    out: Counter = Counter()
    index = [0]
    for k in keep:
        index.append(index[-1] + int(k))

    def visit(node: Tree, start: int) -> int:
        if node.height() == 2:  # part-of-speech bracket: never counted
            return start + 1
        end = start
        for kid in node:
            end = visit(kid, end) if isinstance(kid, Tree) else end + 1
        a, b = index[start], index[end]
        if b > a and node.label() not in ROOT_LABELS:
            label = EQUAL_LABELS.get(node.label(), node.label())
            out[(label, a, b)] += 1
        return end

    visit(tree, 0)
    return out


@dataclass
class BracketScore:
    """Corpus totals of matched, gold and predicted brackets, labelled and unlabelled."""

    matched: int = 0
    matched_unlabeled: int = 0
    gold: int = 0
    test: int = 0
    exact: int = 0
    sentences: int = 0
    tags_correct: int = 0
    words: int = 0

    def add(self, gold: Tree, test: Tree) -> None:
        """Score one sentence; both trees must have the same words.

        Raises:
            ValueError: the trees' words differ.
        """
        gold_pos, test_pos = gold.pos(), test.pos()
        if [w for w, _ in gold_pos] != [w for w, _ in test_pos]:
            raise ValueError("gold and predicted trees have different words")
        keep = [t not in PUNCTUATION_TAGS for _, t in gold_pos]
        g, t = brackets(gold, keep), brackets(test, keep)
        matched = sum((g & t).values())
        unlab = sum((_spans(g) & _spans(t)).values())
        self.matched += matched
        self.matched_unlabeled += unlab
        self.gold += sum(g.values())
        self.test += sum(t.values())
        self.exact += int(g == t)
        self.sentences += 1
        self.tags_correct += sum(a[1] == b[1] for a, b in zip(gold_pos, test_pos) if a[1] not in PUNCTUATION_TAGS)
        self.words += sum(keep)

    def result(self) -> dict[str, float]:
        """Percentages: labelled/unlabelled precision, recall, F1; exact match; tagging accuracy."""
        def f1(p: float, r: float) -> float:
            return 2 * p * r / (p + r) if p + r else 0.0

        lp = 100 * self.matched / max(self.test, 1)
        lr = 100 * self.matched / max(self.gold, 1)
        up = 100 * self.matched_unlabeled / max(self.test, 1)
        ur = 100 * self.matched_unlabeled / max(self.gold, 1)
        return {
            "labeled_precision": lp, "labeled_recall": lr, "labeled_f1": f1(lp, lr),
            "unlabeled_precision": up, "unlabeled_recall": ur, "unlabeled_f1": f1(up, ur),
            "exact_match": 100 * self.exact / max(self.sentences, 1),
            "tag_accuracy": 100 * self.tags_correct / max(self.words, 1),
            "sentences": self.sentences,
        }


def _spans(c: Counter) -> Counter:
    out: Counter = Counter()
    for (_, a, b), n in c.items():
        out[(a, b)] += n
    return out


def score_trees(gold: list[Tree], test: list[Tree]) -> dict[str, float]:
    """Corpus-level evalb scores of ``test`` against ``gold`` (same sentences, same order)."""
    return score_tree_items(gold, test)[0]


def score_tree_items(gold: list[Tree], test: list[Tree]) -> tuple[dict[str, float], dict[str, Any]]:
    """:func:`score_trees` and, per sentence, the bracket counts that resample to the same corpus scores:
    F1 = 2 matched / (gold + predicted), so it is a ratio of sums like an accuracy."""
    from .resampling import ItemStats

    score = BracketScore()
    rows = []
    for g, t in zip(gold, test, strict=True):
        before = (score.matched, score.matched_unlabeled, score.gold, score.test)
        score.add(g, t)
        rows.append([a - b for a, b in zip((score.matched, score.matched_unlabeled, score.gold, score.test), before)])
    m, mu, ng, nt = (np.asarray(c, float) for c in zip(*rows)) if rows else (np.zeros(0),) * 4
    items = {"labeled_f1": ItemStats.ratio(2 * m, ng + nt), "labeled_precision": ItemStats.ratio(m, nt),
             "labeled_recall": ItemStats.ratio(m, ng), "unlabeled_f1": ItemStats.ratio(2 * mu, ng + nt)}
    return score.result(), items

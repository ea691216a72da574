"""PTB-bracket trees: reading them with line numbers in errors, and SST label checks."""

from __future__ import annotations

import os
import re
from typing import Iterator

from ..nltk_light import Tree

from ..errors import DataError
from ..fileio import read_text

SST_LABELS = ("very negative", "negative", "neutral", "positive", "very positive")
BINARY_LABELS = ("negative", "positive")  # SST with neutral dropped: labels 0-1 and 3-4


def binary_label(fine: int) -> int | None:
    """SST's 0-4 as an index into :data:`BINARY_LABELS`; None for neutral (2), which has no binary label."""
    return None if fine == 2 else int(fine > 2)


def iter_bracketed(text: str, source: str = "<string>") -> Iterator[tuple[int, str]]:
    """(line number, expression) for each top-level bracketed expression of ``text``.

    Raises:
        DataError: brackets do not balance; the message names the line where the tree starts.
    """
    depth, start, start_line, line = 0, -1, 0, 1
    for i, ch in enumerate(text):
        if ch == "\n":
            line += 1
        elif ch == "(":
            if depth == 0:
                start, start_line = i, line
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise DataError(f"{source}:{line}: unbalanced brackets (a ')' closes nothing)")
            if depth == 0:
                yield start_line, text[start : i + 1]
        elif depth == 0 and not ch.isspace():
            raise DataError(f"{source}:{line}: text outside brackets ({ch!r})")
    if depth:
        raise DataError(f"{source}:{start_line}: unbalanced brackets (tree not closed)")


def parse_tree(expr: str, source: str = "<string>", line: int = 1) -> Tree:
    """Parse one bracketed expression with :meth:`nltk.Tree.fromstring`.

    Raises:
        DataError: the expression is not a tree; the message names the source and line.
    """
    exprs = list(iter_bracketed(expr, source))
    if len(exprs) != 1:
        raise DataError(f"{source}:{line}: expected one bracketed tree, found {len(exprs)}")
    try:
        return Tree.fromstring(exprs[0][1])
    except ValueError as exc:
        # nltk's message spans lines (a caret under the excerpt); its first two say what and where.
        what = " ".join(part.strip() for part in str(exc).splitlines()[:2])
        raise DataError(f"{source}:{line}: malformed tree ({what})") from None


# A bracket's first token is its label when it looks like one: a number (an SST class) or a Penn
# Treebank tag or phrase label (NP, VP-SBJ, PRP$, -LRB-); otherwise it is a word of an unlabelled bracketing.
_LABEL = re.compile(r"^(?:\d+|[A-Z$][A-Z0-9$]*(?:[-=][A-Z0-9]+)*|-[A-Z]+-)$")


def read_bracketing(text: str, source: str = "<string>") -> Tree:
    """Any bracketing of a sentence, as the binary SST-format tree a tree model reads (every label 2):
    an unlabelled one (``((the film) (is good))``), a parser's (``(S (NP the film) (VP ...))``, with or
    without tags) or an SST tree. Labels are dropped; phrases of more than two parts are right-factored
    and unary chains collapsed. Read with a stack, not recursion: depth costs nothing.

    Raises:
        DataError: unbalanced brackets, or no words.
    """
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    stack: list[list[Tree]] = [[]]
    fresh = [False]  # whether the innermost open bracket has read nothing yet (its label may come)
    for i, tok in enumerate(tokens):
        if tok == "(":
            stack.append([])
            fresh.append(True)
        elif tok == ")":
            if len(stack) == 1:
                raise DataError(f"{source}: unbalanced brackets (a ')' closes nothing)")
            kids = stack.pop()
            fresh.pop()
            if kids:
                stack[-1].append(_right_factored(kids))
        else:
            is_label = fresh[-1] and _LABEL.match(tok) is not None and i + 1 < len(tokens) and tokens[i + 1] != ")"
            fresh[-1] = False
            if not is_label:
                stack[-1].append(Tree("2", [tok]))
    if len(stack) != 1:
        raise DataError(f"{source}: unbalanced brackets (tree not closed)")
    if not stack[0]:
        raise DataError(f"{source}: the tree has no words")
    return _right_factored(stack[0])


def _right_factored(kids: list[Tree]) -> Tree:
    tree = kids[-1]
    for kid in reversed(kids[:-1]):
        tree = Tree("2", [kid, tree])
    return tree


def read_trees(path: str | os.PathLike) -> list[tuple[int, Tree]]:
    """(line, tree) for every tree of a PTB-bracket file, one per line (SST) or spanning lines (.mrg)."""
    text = read_text(path)
    return [(ln, parse_tree(expr, str(path), ln)) for ln, expr in iter_bracketed(text, str(path))]


def check_sentiment_tree(tree: Tree, source: str = "<string>", line: int = 1) -> Tree:
    """Check an SST tree: every node labelled 0-4, binary or preterminal, no empty leaves.

    Raises:
        DataError: names the first problem and the line of the tree.
    """
    for node, _, _ in phrase_spans(tree):  # not Tree.subtrees: its nested generators cost depth x size
        label = node.label()
        if label == "":
            raise DataError(f"{source}:{line}: a node has no label")
        if label not in ("0", "1", "2", "3", "4"):
            raise DataError(f"{source}:{line}: label '{label}' is not one of 0-4")
        kids = list(node)
        words = [k for k in kids if isinstance(k, str)]
        if not kids:
            raise DataError(f"{source}:{line}: empty leaf (node '{label}' has no word)")
        if words and len(words) != len(kids):
            raise DataError(f"{source}:{line}: a word beside a phrase under one node")
        # A preterminal may hold a token with spaces ("8 1/2"), which nltk splits into several words.
        if not words and len(kids) != 2:
            raise DataError(f"{source}:{line}: a node has {len(kids)} phrase children; SST trees are binary")
    return tree


def is_preterminal(node: Tree) -> bool:
    """A node whose children are all words (nltk splits a token with spaces into several)."""
    return len(node) > 0 and all(isinstance(k, str) for k in node)


def phrase_spans(tree: Tree) -> list[tuple[Tree, int, int]]:
    """(node, first token, end token) for every node in post-order, tokens counted as in :func:`tree_tokens`.

    One pass without recursion: its cost grows with the tree's size, never with its depth squared,
    and a deep tree cannot reach Python's recursion limit.
    """
    spans: list[tuple[Tree, int, int]] = []
    stack: list[tuple[Tree, bool, int]] = [(tree, False, 0)]
    count = 0
    while stack:
        node, expanded, start = stack.pop()
        if is_preterminal(node):
            spans.append((node, count, count + 1))
            count += 1
        elif expanded:
            spans.append((node, start, count))
        else:
            stack.append((node, True, count))
            stack.extend((k, False, 0) for k in reversed(node) if isinstance(k, Tree))
    return spans


def tree_tokens(tree: Tree) -> list[str]:
    """One token per preterminal, in order; words nltk split at spaces are joined again."""
    return [" ".join(node) for node, _, _ in phrase_spans(tree) if is_preterminal(node)]


def count_brackets(text: str) -> int:
    """How many nodes a bracketed tree has (its opening brackets), read without parsing it."""
    return text.count("(")


def read_sentiment_trees(path: str | os.PathLike) -> list[Tree]:
    """SST trees of a file, each checked with :func:`check_sentiment_tree`."""
    trees = [check_sentiment_tree(t, str(path), ln) for ln, t in read_trees(path)]
    if not trees:
        raise DataError(f"{path}: no trees in file")
    return trees

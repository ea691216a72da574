"""Penn Treebank constituency trees for parsing: reading, cleaning, and the parser's binary form.

Cleaning follows common practice for PTB parsing: empty elements (``-NONE-``) and the nodes
they leave empty are removed, and function tags and indices are stripped (``NP-SBJ-1`` -> ``NP``).
The parser sees a tree as a binary bracketing over the words: unary chains are collapsed into
one label (``S+VP``), n-ary nodes are right-factored, and the nodes the factoring adds carry the
empty label, so un-binarizing is removing them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..nltk_light import Tree

from ..errors import DataError
from .corpora import get_corpus, locate, resolve_ref
from .readers import iter_package_files
from .trees import iter_bracketed, parse_tree

EMPTY = ""  # label of the nodes right-factoring adds (and of words with no unary chain above them)
_FILES = re.compile(r"^(\d{1,4})-(\d{1,4})$")


def clean_label(label: str) -> str:
    """``NP-SBJ-1`` -> ``NP``, ``PP-LOC=2`` -> ``PP``; labels that start with '-' (``-LRB-``) are kept."""
    if label.startswith("-"):
        return label
    return re.split(r"[-=]", label, maxsplit=1)[0]


def clean_tree(tree: Tree) -> Tree | None:
    """A copy without empty elements, the nodes left empty by them, or function tags; None if nothing is left."""
    if tree.height() == 2:  # preterminal
        if tree.label() == "-NONE-":
            return None
        return Tree(clean_label(tree.label()), list(tree))
    kids = [k for k in (clean_tree(c) for c in tree if isinstance(c, Tree)) if k is not None]
    if not kids:
        return None
    return Tree(clean_label(tree.label()), kids)


def strip_root(tree: Tree) -> Tree:
    """The tree under PTB's unlabelled (or ``ROOT``/``TOP``) outer bracket."""
    while tree.label() in ("", "ROOT", "TOP") and len(tree) == 1 and isinstance(tree[0], Tree) and tree[0].height() > 2:
        tree = tree[0]
    return tree


def _mrg_trees(text: str, source: str) -> list[Tree]:
    out = []
    for line, expr in iter_bracketed(text, source):
        cleaned = clean_tree(parse_tree(expr, source, line))
        if cleaned is None:
            continue
        tree = strip_root(cleaned)
        if tree.height() <= 2:  # a lone word has no brackets to learn from
            continue
        out.append(tree)
    return out


def _file_range(spec: str, ref: str) -> tuple[int, int]:
    m = _FILES.match(spec)
    if not m:
        raise DataError(f"{ref}: expected a file range like 'ptb-sample:0001-0159'")
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi:
        raise DataError(f"{ref}: empty file range {lo}-{hi}")
    return lo, hi


def read_ptb(ref: str) -> list[Tree]:
    """Cleaned trees (root bracket removed) from ``ref``.

    ``ref`` is a ``.mrg`` file, a folder of them (read in name order), ``ptb-sample`` (the whole
    nltk WSJ sample) or ``ptb-sample:0001-0159`` (the files ``wsj_0001`` .. ``wsj_0159``).

    Raises:
        DataError: nothing readable there, a malformed tree (with its file and line), or no trees.
    """
    name, sep, spec = ref.partition(":")
    if name == "ptb-sample" and not Path(ref).exists():
        lo, hi = _file_range(spec, ref) if sep else (0, 9999)
        corpus = get_corpus(name)
        trees: list[Tree] = []
        # latin-1 decodes any byte: the package README is not UTF-8, the .mrg files are ASCII.
        for rel, text in iter_package_files(locate(name), corpus.nltk_package or "treebank", "latin-1"):
            m = re.search(r"wsj_(\d{4})\.mrg$", rel)
            if m and lo <= int(m.group(1)) <= hi:
                trees += _mrg_trees(text, rel)
    else:
        path = resolve_ref(ref)
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".mrg", ".tree", ".txt")) \
            if path.is_dir() else [path]
        trees = []
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(f"{f}: unreadable ({exc})") from None
            trees += _mrg_trees(text, str(f))
    if not trees:
        raise DataError(f"{ref}: no trees found")
    return trees


def words_and_tags(tree: Tree) -> tuple[list[str], list[str]]:
    """The words and part-of-speech tags of a tree, in order."""
    pos = tree.pos()
    return [w for w, _ in pos], [t for _, t in pos]


@dataclass
class BinaryTree:
    """A sentence's binary bracketing in the parser's form.

    ``nodes`` are the internal nodes in post-order, each ``(start, end, left, right, label)``:
    the word span ``[start, end)``, children as node references (``i >= 0``: ``nodes[i]``;
    ``-1 - w``: word ``w``) and a label chain (``S+VP``) or :data:`EMPTY`. ``leaf_labels`` holds
    the unary chain above each word's part-of-speech tag (``NP`` for ``(NP (NNP John))``) or EMPTY.
    """

    words: list[str]
    tags: list[str]
    leaf_labels: list[str]
    nodes: list[tuple[int, int, int, int, str]] = field(default_factory=list)

    def spans(self) -> set[tuple[int, int]]:
        return {(s, e) for s, e, *_ in self.nodes}


def binarize(tree: Tree) -> BinaryTree:
    """A cleaned tree (see :func:`clean_tree`) as a :class:`BinaryTree`.

    Raises:
        DataError: the tree has a word without a part-of-speech tag above it.
    """
    words, tags = words_and_tags(tree)
    out = BinaryTree(words, tags, [EMPTY] * len(words))
    position = 0

    def visit(node: Tree, chain: list[str]) -> int:
        nonlocal position
        if node.height() == 2:
            if len(node) != 1:
                raise DataError(f"preterminal '{node.label()}' holds {len(node)} words")
            out.leaf_labels[position] = "+".join(chain)
            position += 1
            return -position  # -1 - index
        kids = [k for k in node if isinstance(k, Tree)]
        if len(kids) != len(node):
            raise DataError(f"node '{node.label()}' has a bare word beside phrases")
        if len(kids) == 1:
            return visit(kids[0], chain + [node.label()])
        refs = [visit(k, []) for k in kids]
        label = "+".join(chain + [node.label()])
        # Right-factoring: (X a b c) -> (X a (<empty> b c)).
        right = refs[-1]
        for i in range(len(refs) - 2, -1, -1):
            left = refs[i]
            start = _start(out, left)
            end = _end(out, right)
            out.nodes.append((start, end, left, right, label if i == 0 else EMPTY))
            right = len(out.nodes) - 1
        return right

    visit(tree, [])
    return out


def _start(t: BinaryTree, ref: int) -> int:
    return -1 - ref if ref < 0 else t.nodes[ref][0]


def _end(t: BinaryTree, ref: int) -> int:
    return -ref if ref < 0 else t.nodes[ref][1]


def _chain(label: str, kids: list) -> list:
    """``kids`` wrapped in the unary chain ``label`` (outermost first); EMPTY leaves them as they are."""
    if label == EMPTY:
        return kids
    for part in reversed(label.split("+")):
        kids = [Tree(part, kids)]
    return kids


def debinarize(t: BinaryTree, root_label: str = "S") -> Tree:
    """The n-ary tree a :class:`BinaryTree` stands for: EMPTY nodes dissolve into their parent.

    A root whose label is EMPTY gets ``root_label``, so the result is always one tree.
    """
    def build(ref: int) -> list:
        if ref < 0:
            w = -1 - ref
            return _chain(t.leaf_labels[w], [Tree(t.tags[w], [t.words[w]])])
        _, _, left, right, label = t.nodes[ref]
        return _chain(label, build(left) + build(right))

    if not t.nodes:  # one word
        kids = build(-1)
    else:
        kids = build(len(t.nodes) - 1)
    if len(kids) == 1 and isinstance(kids[0], Tree) and kids[0].height() > 2:
        return kids[0]
    return Tree(root_label, kids)


def shape_tree(tree: Tree) -> Tree:
    """An SST tree's unlabelled shape for the parser: every phrase ``P``, every word tagged ``W``."""
    if all(isinstance(k, str) for k in tree):
        return Tree("W", [" ".join(tree)])
    return Tree("P", [shape_tree(k) for k in tree])


def to_sentiment_tree(tree: Tree, label: str = "2") -> Tree:
    """A parse as the binary SST-format tree a sentiment tree model reads: every node ``label``.

    n-ary phrases are right-factored and unary chains collapsed, as :func:`binarize` does.
    """
    b = binarize(tree)

    def build(ref: int) -> Tree:
        if ref < 0:
            return Tree(label, [b.words[-1 - ref]])
        _, _, left, right, _ = b.nodes[ref]
        return Tree(label, [build(left), build(right)])

    return build(len(b.nodes) - 1 if b.nodes else -1)

"""Drawings of sentiment-labelled trees, coloured like the Stanford sentiment demo (SVG or PNG)."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from .nltk_light import Tree

from .data.trees import parse_tree
from .errors import DataError, InputError
from .fileio import atomic_path, atomic_write_text

COLOURS = {"0": "#b2182b", "1": "#ef8a62", "2": "#e0e0e0", "3": "#67a9cf", "4": "#2166ac"}
SYMBOLS = {"0": "--", "1": "-", "2": "0", "3": "+", "4": "++"}
DX, DY, R = 56, 54, 14


def layout(tree: Tree) -> list[tuple[float, float, str, str | None, list[int]]]:
    """Nodes as (x, y, label, word or None, child indices); leaves evenly spaced, parents centred."""
    nodes: list[tuple[float, float, str, str | None, list[int]]] = []
    next_x = [0]

    def visit(node: Tree, depth: int) -> int:
        kids = list(node)
        if all(isinstance(k, str) for k in kids):
            nodes.append((next_x[0] * DX + DX / 2, depth * DY + DY / 2, str(node.label()), " ".join(kids), []))
            next_x[0] += 1
        else:
            idx = [visit(k, depth + 1) for k in kids]
            x = sum(nodes[i][0] for i in idx) / len(idx)
            nodes.append((x, depth * DY + DY / 2, str(node.label()), None, idx))
        return len(nodes) - 1

    visit(tree, 0)
    return nodes


def to_svg(tree: Tree) -> str:
    """An SVG drawing of a labelled tree: one coloured circle per phrase, words under the leaves."""
    nodes = layout(tree)
    width = max(x for x, *_ in nodes) + DX / 2
    height = max(y for _, y, *_ in nodes) + DY
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'font-family="sans-serif" font-size="11">']
    for x, y, _, _, kids in nodes:
        for k in kids:
            parts.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{nodes[k][0]:.1f}" y2="{nodes[k][1]:.1f}" stroke="#888"/>')
    for x, y, label, word, _ in nodes:
        fill = COLOURS.get(label, "#ffffff")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{R}" fill="{fill}" stroke="#444">'
                     f'<title>{escape(label)}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(SYMBOLS.get(label, label))}</text>')
        if word is not None:
            parts.append(f'<text x="{x:.1f}" y="{y + R + 14:.1f}" text-anchor="middle">{escape(word)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_tree(tree: Tree | str, path: str | os.PathLike) -> None:
    """Write ``tree`` (an nltk tree or its bracket string) as ``.svg`` or ``.png``, atomically.

    Raises:
        InputError: the file suffix is neither .svg nor .png, or the bracket string is not one tree.
    """
    if isinstance(tree, str):
        try:
            tree = parse_tree(tree, "the tree to render")
        except DataError as exc:  # e.g. a word ending in a backslash, which escapes the next bracket
            raise InputError(str(exc)) from None
    path = Path(path)
    if path.suffix == ".svg":
        atomic_write_text(path, to_svg(tree))
    elif path.suffix == ".png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        nodes = layout(tree)
        width = max(x for x, *_ in nodes) + DX / 2
        height = max(y for _, y, *_ in nodes) + DY
        fig, ax = plt.subplots(figsize=(width / 72, height / 72), dpi=100)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
        for x, y, _, _, kids in nodes:
            for k in kids:
                ax.plot([x, nodes[k][0]], [y, nodes[k][1]], color="#888", lw=0.8, zorder=1)
        for x, y, label, word, _ in nodes:
            ax.add_patch(plt.Circle((x, y), R, facecolor=COLOURS.get(label, "#fff"), edgecolor="#444", zorder=2))
            ax.text(x, y, SYMBOLS.get(label, label), ha="center", va="center", fontsize=7, zorder=3)
            if word is not None:
                ax.text(x, y + R + 8, word, ha="center", va="center", fontsize=7)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
    else:
        raise InputError(f"{path}: can render .svg or .png, not '{path.suffix}'")

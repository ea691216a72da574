"""The package's import graph, read from the source (module-level and function-level imports alike).

``python tests/import_graph.py`` prints every import circle and every upward import; the test suite
asserts there are none. Layers, lowest first: the leaf modules (errors, config, version, fileio,
registry), then ``text``/``data``/``nn``/``metrics``/``train``, then ``models``/``decode``, then
``recipe``, ``tasks``, ``api``, and on top ``serve``, ``experiments`` and ``cli``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nlpseq"
LOW = ("nlpseq.nn", "nlpseq.train", "nlpseq.data", "nlpseq.text")  # must not import the layers below
HIGH = ("nlpseq.recipe", "nlpseq.tasks", "nlpseq.api")


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _targets(name: str, path: Path, node: ast.AST, known: dict[str, Path]) -> list[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if isinstance(node, ast.Import):
        found = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            up = package
            for _ in range(node.level - 1):
                up = up.rsplit(".", 1)[0]
            base = f"{up}.{base}" if base else up
        found = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    return [t for t in found if t in known and t != name]


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its source."""
    known = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[name].update(_targets(name, path, node, known))
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from the low layers (nn, train, data, text) into recipe, tasks or api."""
    return sorted((a, b) for a, targets in edges.items() for b in targets
                  if a.startswith(LOW) and b.startswith(HIGH))


if __name__ == "__main__":
    g = graph()
    for c in circles(g):
        print("circle:", " -> ".join(c))
    for a, b in upward(g):
        print(f"upward: {a} imports {b}")
    sys.exit(1 if circles(g) or upward(g) else 0)

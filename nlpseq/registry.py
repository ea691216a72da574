"""Named factories: tasks and models are looked up by the names recipes use.

The registries are filled by importing the modules that define tasks and models: the package's
own (``nlpseq.tasks``, which imports ``nlpseq.models``) and any module another installed package
names under the ``nlpseq.plugins`` entry-point group. That happens at the first lookup, so the
modules low in the package (recipes, layers, the trainer) never import the tasks above them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Callable, Generic, TypeVar

from .errors import RecipeError, did_you_mean

T = TypeVar("T")

PLUGIN_GROUP = "nlpseq.plugins"  # entry points of other packages: modules that register tasks, models or cells

_loaded: set[str] = set()


def load_modules(names: tuple[str, ...]) -> None:
    """Import ``names`` and every ``nlpseq.plugins`` entry point, each once."""
    for name in names:
        if name not in _loaded:
            importlib.import_module(name)  # a lookup during this import finds the module half-built and goes on
            _loaded.add(name)
    if "<plugins>" in _loaded:
        return
    _loaded.add("<plugins>")
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin is named in one line, not a traceback
            raise RecipeError(f"plugin '{ep.name}' ({ep.value}) failed to load: {exc}") from None


class Registry(Generic[T]):
    """A name -> object table whose lookups fail with a one-line error suggesting the closest name."""

    def __init__(self, kind: str, builtins: tuple[str, ...] = (), names_entries: bool = False) -> None:
        self.kind = kind
        self.builtins = builtins  # modules whose import registers the built-in entries
        self.names_entries = names_entries  # set ``name`` on each registered class, so it is written once
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that files the decorated object under ``name``."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = obj
            if self.names_entries:
                obj.name = name  # type: ignore[attr-defined]
            return obj

        return deco

    def get(self, name: str) -> T:
        """The object filed under ``name``.

        Raises:
            RecipeError: no such name; the message names the closest one and the choices.
        """
        load_modules(self.builtins)
        if name not in self._items:
            raise RecipeError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._items)}; choose from {', '.join(sorted(self._items))}"
            )
        return self._items[name]

    def items(self) -> list[tuple[str, T]]:
        load_modules(self.builtins)
        return sorted(self._items.items())

    def __iter__(self):
        return iter(self.names())

    def names(self) -> list[str]:
        load_modules(self.builtins)
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        load_modules(self.builtins)
        return name in self._items


TASKS: Registry = Registry("task", ("nlpseq.tasks",), names_entries=True)
MODELS: Registry = Registry("model", ("nlpseq.tasks",))  # the tasks import the models they serve
CELLS: Registry = Registry("cell", ("nlpseq.nn.cells",))

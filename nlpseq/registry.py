"""Named factories: tasks and models are looked up by the names recipes use."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from .errors import RecipeError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table whose lookups fail with a one-line error suggesting the closest name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that files the decorated object under ``name``."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """The object filed under ``name``.

        Raises:
            RecipeError: no such name; the message names the closest one and the choices.
        """
        if name not in self._items:
            raise RecipeError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._items)}; choose from {', '.join(sorted(self._items))}"
            )
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


TASKS: Registry = Registry("task")
MODELS: Registry = Registry("model")

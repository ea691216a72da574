"""Shipped models: run folders that travel inside the package, found by name.

``nlpseq/shipped/manifest.json`` lists each model: its name and version, its task, the pipelines it
is the default of, its headline figure, and the SHA-256 digest of every file in its folder. A model
is named ``NAME`` (the newest version) or ``NAME@VERSION``; a version is ``FORMAT.ARCHITECTURE.RETRAIN``
(the run format it needs, a change of model, a retraining of the same model). Digests are checked
the first time a model is opened in a process, so a damaged or altered file is refused in one line
instead of answering garbage. ``make models`` writes the folders, their cards and the manifest.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RunDirError, did_you_mean
from .fileio import sha256_file as file_digest

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "shipped"
MANIFEST = "manifest.json"
CARD = "card.md"
# transformers' names for a translation pipeline of one language pair, such as translation_de_to_en
PAIR_ALIAS = re.compile(r"^translation_([a-z]{2,3})_to_([a-z]{2,3})$")


@dataclass(frozen=True)
class ShippedModel:
    """One entry of the manifest."""

    name: str
    version: str
    task: str
    folder: str
    default_for: tuple[str, ...] = ()  # pipeline names this model answers when no model is given
    domain: str = ""  # what text it was trained on, in a few words
    headline: str = ""  # its main figure on held-out data, as the card reports it
    size: int = 0  # bytes of its files
    serve_as: str = ""  # the endpoint `nlpseq serve` (with no model given) puts it behind: /v1/<serve_as>
    parser: str | None = None  # a shipped parser that turns raw text into the trees this model reads
    files: dict[str, str] = field(default_factory=dict)  # relative path -> SHA-256

    @property
    def ref(self) -> str:
        """``NAME@VERSION``: what pins this exact model."""
        return f"{self.name}@{self.version}"

    @property
    def path(self) -> Path:
        return SHIPPED / self.folder


def read_manifest(root: Path | None = None) -> list[ShippedModel]:
    """Every shipped model (in ``root``; default: the package's), in the manifest's order (an absent
    manifest: none).

    Raises:
        RunDirError: the manifest is unreadable or malformed.
    """
    path = (root or SHIPPED) / MANIFEST
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [ShippedModel(**{**m, "default_for": tuple(m.get("default_for", ()))}) for m in data["models"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RunDirError(f"{path}: the list of shipped models is damaged ({exc}); reinstall nlpseq") from None


def find(name: str) -> ShippedModel | None:
    """The shipped model ``NAME`` (its newest version) or ``NAME@VERSION``; None when no model has that name.

    Raises:
        RunDirError: the name is shipped but not at that version (the message lists the versions).
    """
    base, _, version = name.partition("@")
    found = [m for m in read_manifest() if m.name == base]
    if not found:
        return None
    if not version:
        return max(found, key=version_key)
    for m in found:
        if m.version == version:
            return m
    raise RunDirError(f"{name}: no such version of {base}; shipped: {', '.join(m.ref for m in found)}")


def version_key(model: ShippedModel) -> tuple[int, ...]:
    """Versions compare as numbers: 2.10.0 is newer than 2.9.0."""
    return tuple(int(p) if p.isdigit() else -1 for p in model.version.split("."))


def default_for(pipeline: str) -> ShippedModel | None:
    """The shipped model a pipeline uses when it is given none (the newest version of it)."""
    return max((m for m in read_manifest() if pipeline in m.default_for), key=version_key, default=None)


_verified: set[str] = set()


def verify(model: ShippedModel) -> Path:
    """The model's folder, once every file listed for it has the digest the manifest records.

    Raises:
        RunDirError: names the first missing or altered file.
    """
    if model.ref in _verified:
        return model.path
    for rel, digest in model.files.items():
        path = model.path / rel
        if not path.is_file():
            raise RunDirError(f"{path}: missing from the shipped model {model.ref}; reinstall nlpseq")
        if file_digest(path) != digest:
            raise RunDirError(f"{path}: damaged or altered (its SHA-256 differs from the manifest's); "
                              f"reinstall nlpseq or run `make models`")
    _verified.add(model.ref)
    return model.path


def announce_default(model: ShippedModel, pipeline: str) -> None:
    """The one line a default prints: which model, on what text, how good, and how to pin it."""
    log.warning("no model given for '%s': using %s (%s; %s); pin it with model='%s'", pipeline, model.ref,
                model.domain, model.headline, model.ref)


def resolve(model: str | os.PathLike | None, pipeline: str) -> tuple[Path, ShippedModel | None]:
    """Where ``model`` lives: a run folder, a shipped model's name, or None for the pipeline's default.

    Raises:
        RunDirError: no model given and none shipped for the pipeline; a shipped model damaged.
    """
    if model is None:
        chosen = default_for(pipeline)
        if chosen is None:
            shipped = ", ".join(m.name for m in read_manifest()) or "none are installed"
            raise RunDirError(f"no model given and no shipped model answers '{pipeline}'; pass a run folder "
                              f"or a shipped model's name ({shipped})")
        announce_default(chosen, pipeline)
        return verify(chosen), chosen
    text = os.fspath(model)
    if not os.path.exists(text) and "/" not in text and os.sep not in text:
        chosen = find(text)
        if chosen is not None:
            return verify(chosen), chosen
        names = {m.name: m for m in read_manifest()}
        raise RunDirError(f"{text}: neither a run folder nor a shipped model{did_you_mean(text, names)}"
                          f"{'; shipped: ' + ', '.join(names) if names else ''}")
    # A shipped model's folder given by its path is that shipped model (its parser comes with it).
    folder = Path(text).resolve()
    same = next((m for m in read_manifest() if m.path.resolve() == folder), None) if folder.parent == \
        SHIPPED.resolve() else None
    return (verify(same), same) if same is not None else (Path(text), None)


def locate(model: str | os.PathLike) -> Path:
    """The folder of ``model``: a run folder as given, or a shipped model's (checked) by name."""
    return resolve(model, "")[0]


def pipeline_of_pair(name: str) -> tuple[str, tuple[str, str] | None]:
    """``translation_de_to_en`` -> (``translation``, (de, en)); any other name -> (name, None)."""
    m = PAIR_ALIAS.match(name)
    return ("translation", (m.group(1), m.group(2))) if m else (name, None)


def card_text(model: ShippedModel) -> str:
    """The model's card (Markdown with a YAML header)."""
    path = verify(model) / CARD
    return path.read_text(encoding="utf-8")


def as_rows() -> list[dict[str, Any]]:
    """What ``nlpseq models`` lists: one row per shipped model."""
    return [{"name": m.ref, "task": m.task, "size": f"{m.size / 1e6:.1f} MB", "headline": m.headline,
             "default for": ", ".join(m.default_for) or "-"} for m in read_manifest()]

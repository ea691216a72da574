"""User-facing errors: each carries one line that names the file, line or key at fault."""

from __future__ import annotations


class NlpseqError(Exception):
    """Base class for errors a user can fix; the CLI prints the message and exits non-zero."""


class RecipeError(NlpseqError):
    """A recipe file or a ``--set`` override is malformed or names an unknown key."""


class DataError(NlpseqError):
    """A corpus file is missing, truncated or malformed."""


class RunDirError(NlpseqError):
    """A path is not a run directory, or is one of another task."""


class InputError(NlpseqError, ValueError):
    """An input given to a model at inference time is unusable (empty, too long, wrong type)."""


def did_you_mean(name: str, choices, prefix: str = "") -> str:
    """Return `` (did you mean 'x'?)`` for the closest of ``choices`` (shown after ``prefix``, such as a
    recipe section's ``train.``), or an empty string."""
    import difflib

    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), names, n=1)
    if not close:
        # A name with words added to a real one ('lr_rate' for 'lr') is too far for difflib's ratio.
        close = sorted((c for c in names if len(c) >= 2 and str(name).startswith(c + "_")), key=len, reverse=True)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def printable(text: object) -> str:
    """``text`` with control characters escaped (``\\n`` as two characters): a key or value a user
    sent, quoted in a message, must not break it over lines."""
    text = str(text)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def check_unicode(value: object, where: str) -> None:
    """Raise :class:`InputError` naming ``where`` when a string in ``value`` (or in its lists and dicts)
    is not valid Unicode: a lone surrogate, such as JSON's ``"\\ud800"`` or an undecodable byte that
    Python kept as one, which no tokenizer or JSON encoder accepts."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{where}: not valid Unicode text (a lone surrogate at character {exc.start})") from None
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_unicode(v, f"{where}.{i}")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_unicode(k, f"{where} (a key)")
            check_unicode(v, f"{where}.{printable(k)}")

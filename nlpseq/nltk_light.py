"""nltk, imported without the scipy.stats it pulls in for collocation statistics nlpseq never uses.

``import nltk`` runs nltk's ``__init__``, which imports ``nltk.collocations`` and through it
``scipy.stats`` (for Fisher's exact test): about a second of the start-up before a tree model or a
parser answers its first sentence. nltk guards those imports (it falls back to a function that
raises NotImplementedError), so nltk is imported here once with ``scipy.stats`` hidden; scipy
stays importable, whole, for everything after. Every module of nlpseq gets nltk from here.
"""

from __future__ import annotations

import sys

if "nltk" not in sys.modules and "scipy.stats" not in sys.modules:
    sys.modules["scipy.stats"] = None  # type: ignore[assignment]  # `from scipy.stats import x` raises ImportError
    try:
        import nltk
    finally:
        del sys.modules["scipy.stats"]
else:
    import nltk

from nltk import Tree

__all__ = ["nltk", "Tree"]

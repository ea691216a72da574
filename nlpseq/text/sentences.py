"""Splitting raw text into sentences, for models trained on one sentence at a time.

A rule, not a trained splitter: a sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes
or brackets) followed by white space and a capital letter, a digit or an opening quote. Common
abbreviations (``Mr.``, ``e.g.``, single initials) do not end one. Good enough to keep a long
review from being read as one 300-word sentence; a wrong split costs a little accuracy, not an error.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr vs etc e.g i.e no co inc ltd dept fig al approx".split())
_END = re.compile(r"""([.!?]+["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9ÄÖÜÀ-Þ])""")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order (one, the whole text, when no boundary is found)."""
    out, start = [], 0
    for m in _END.finditer(text):
        before = text[start:m.start(1)].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if m.group(1) == "." and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue
        out.append(text[start:m.end(1)].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s] or [text.strip()]

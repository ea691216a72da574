"""Small corpora the project writes itself, for the demo and for tests without the real corpora.

The sentiment sample is a toy treebank in the SST format: sentences from a small grammar
whose phrase labels follow simple rules (intensifiers strengthen, negation flips, 'but'
defers to its second clause), so a model has something real to learn. The treebank sample is
PTB-style constituency trees from a small English grammar, for the parser.
"""

from __future__ import annotations

import random
from pathlib import Path

from .fileio import atomic_write_text

_ADJ = {
    0: ["awful", "terrible", "dreadful", "unbearable"],
    1: ["dull", "weak", "boring", "clumsy", "tedious"],
    2: ["long", "french", "new", "quiet", "familiar"],
    3: ["good", "pleasant", "charming", "solid", "funny"],
    4: ["brilliant", "wonderful", "superb", "stunning"],
}
_NOUNS = ["film", "movie", "story", "plot", "cast", "script", "ending", "soundtrack", "acting", "director"]
_NEGATE = {0: 3, 1: 3, 2: 2, 3: 1, 4: 1}
_STRONGER = {0: 0, 1: 0, 2: 2, 3: 4, 4: 4}


def _leaf(word: str) -> tuple[int, str]:
    return 2, f"(2 {word})"


def _node(label: int, left: str, right: str) -> tuple[int, str]:
    return label, f"({label} {left} {right})"


def _adjp(rng: random.Random) -> tuple[int, str]:
    label = rng.choice(list(_ADJ))
    adj = (label, f"({label} {rng.choice(_ADJ[label])})")
    kind = rng.random()
    if kind < 0.25:
        return _node(_STRONGER[label], "(2 very)", adj[1])
    if kind < 0.45:
        return _node(_NEGATE[label], "(2 not)", adj[1])
    return adj


def _clause(rng: random.Random) -> tuple[int, str]:
    np = _node(2, "(2 the)", f"(2 {rng.choice(_NOUNS)})")
    adjp = _adjp(rng)
    vp = _node(adjp[0], "(2 is)", adjp[1])
    return _node(vp[0], np[1], vp[1])


def sentiment_tree(rng: random.Random) -> str:
    """One labelled binary tree in SST bracket format."""
    first = _clause(rng)
    if rng.random() < 0.3:
        second = _clause(rng)
        but = _node(second[0], "(2 but)", second[1])
        first = _node(second[0], first[1], but[1])
    return _node(first[0], first[1], "(2 .)")[1]


def _write_distinct(folder: str | Path, make, names: tuple[str, str], n_train: int, n_dev: int, seed: int) -> None:
    """Write ``n_train`` then ``n_dev`` distinct lines from ``make(rng)`` into the two files ``names``."""
    rng = random.Random(seed)
    seen: set[str] = set()
    lines: list[str] = []
    while len(lines) < n_train + n_dev:
        line = make(rng)
        if line not in seen:
            seen.add(line)
            lines.append(line)
    folder = Path(folder)
    atomic_write_text(folder / names[0], "\n".join(lines[:n_train]) + "\n")
    atomic_write_text(folder / names[1], "\n".join(lines[n_train:]) + "\n")


def write_sentiment_sample(folder: str | Path, n_train: int = 400, n_dev: int = 100, seed: int = 13) -> None:
    """Write ``train.txt`` and ``dev.txt`` (distinct trees) into ``folder``."""
    _write_distinct(folder, sentiment_tree, ("train.txt", "dev.txt"), n_train, n_dev, seed)


_DE_EN_NOUNS = [("Hund", "dog", "Ein", "Der"), ("Mann", "man", "Ein", "Der"), ("Frau", "woman", "Eine", "Die"),
                ("Kind", "child", "Ein", "Das"), ("Katze", "cat", "Eine", "Die"), ("Junge", "boy", "Ein", "Der"),
                ("Mädchen", "girl", "Ein", "Das")]
_DE_EN_ADJ = [("kleine", "kleiner", "kleines", "little"), ("große", "großer", "großes", "big"),
              ("junge", "junger", "junges", "young"), ("alte", "alter", "altes", "old")]
_DE_EN_VERBS = [("rennt", "runs"), ("schläft", "sleeps"), ("spielt", "plays"), ("springt", "jumps"),
                ("sitzt", "sits"), ("lacht", "laughs")]
_DE_EN_PLACES = [("im Park", "in the park"), ("auf der Straße", "on the street"), ("am Strand", "on the beach"),
                 ("im Schnee", "in the snow"), ("im Garten", "in the garden")]


def parallel_pair(rng: random.Random) -> tuple[str, str]:
    """One German sentence and its English translation from a small grammar."""
    noun, en_noun, indef, definite = rng.choice(_DE_EN_NOUNS)
    gender = {"Der": 1, "Die": 0, "Das": 2}[definite]
    de_words, en_words = [], []
    if rng.random() < 0.5:
        adj = rng.choice(_DE_EN_ADJ)
        de_words += [indef, adj[gender], noun]
        en_words += [adj[3], en_noun]
    else:
        de_words += [indef, noun]
        en_words += [en_noun]
    en_words.insert(0, "An" if en_words[0][0] in "aeiou" else "A")
    verb = rng.choice(_DE_EN_VERBS)
    de_words.append(verb[0])
    en_words.append(verb[1])
    if rng.random() < 0.6:
        place = rng.choice(_DE_EN_PLACES)
        de_words.append(place[0])
        en_words.append(place[1])
    return " ".join(de_words) + ".", " ".join(en_words) + "."


def write_parallel_sample(folder: str | Path, n_train: int = 600, n_val: int = 60, seed: int = 7) -> None:
    """Write ``train.{de,en}.gz`` and ``val.{de,en}.gz`` in the layout of the Multi30k corpus folder."""
    import gzip

    from .fileio import atomic_path

    rng = random.Random(seed)
    # Distinct pairs: a validation sentence that is also in the training part measures recall, not translation.
    pairs = list(dict.fromkeys(parallel_pair(rng) for _ in range(50 * (n_train + n_val))))[:n_train + n_val]
    if len(pairs) < n_train + n_val:
        raise ValueError(f"the sample grammar makes only {len(pairs)} distinct pairs")
    rng.shuffle(pairs)
    folder = Path(folder)
    for split, part in (("train", pairs[:n_train]), ("val", pairs[n_train:])):
        for k, lang in enumerate(("de", "en")):
            with atomic_path(folder / f"{split}.{lang}.gz") as tmp, open(tmp, "wb") as raw:
                # No file name and mtime 0 in the header: the archive bytes are the same on every run.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
                    fh.write(("\n".join(p[k] for p in part) + "\n").encode("utf-8"))


_TB_DET = ["the", "a", "every", "this"]
_TB_ADJ = ["big", "old", "quiet", "red", "small", "happy"]
_TB_NOUN = ["dog", "man", "woman", "child", "cat", "teacher", "house", "ball", "park", "garden", "letter", "car"]
_TB_NAME = ["Anna", "Peter", "Maria", "John"]
_TB_TVERB = ["saw", "found", "liked", "chased", "wrote", "painted"]
_TB_IVERB = ["slept", "laughed", "waited", "arrived"]
_TB_PREP = ["in", "near", "behind", "with"]
_TB_ADV = ["yesterday", "quickly", "again"]


def _tb_np(rng: random.Random, depth: int = 0) -> str:
    if rng.random() < 0.2:
        return f"(NP (NNP {rng.choice(_TB_NAME)}))"
    words = [f"(DT {rng.choice(_TB_DET)})"]
    if rng.random() < 0.4:
        words.append(f"(JJ {rng.choice(_TB_ADJ)})")
    words.append(f"(NN {rng.choice(_TB_NOUN)})")
    np = f"(NP {' '.join(words)})"
    if depth == 0 and rng.random() < 0.25:
        return f"(NP {np} {_tb_pp(rng, depth + 1)})"
    return np


def _tb_pp(rng: random.Random, depth: int) -> str:
    return f"(PP (IN {rng.choice(_TB_PREP)}) {_tb_np(rng, depth)})"


def _tb_vp(rng: random.Random) -> str:
    if rng.random() < 0.3:
        parts = [f"(VBD {rng.choice(_TB_IVERB)})"]
    else:
        parts = [f"(VBD {rng.choice(_TB_TVERB)})", _tb_np(rng)]
    if rng.random() < 0.35:
        parts.append(_tb_pp(rng, 1))
    if rng.random() < 0.2:
        parts.append(f"(ADVP (RB {rng.choice(_TB_ADV)}))")
    return f"(VP {' '.join(parts)})"


def treebank_tree(rng: random.Random) -> str:
    """One PTB-style constituency tree (S, NP, VP, PP, ADVP; part-of-speech tags; a final period)."""
    clause = f"{_tb_np(rng)} {_tb_vp(rng)}"
    if rng.random() < 0.2:
        clause = f"(S {clause}) (CC and) (S {_tb_np(rng)} {_tb_vp(rng)})"
    return f"( (S {clause} (. .)) )"


def write_treebank_sample(folder: str | Path, n_train: int = 300, n_dev: int = 60, seed: int = 11) -> None:
    """Write ``train.mrg`` and ``dev.mrg`` (distinct trees, PTB bracket format) into ``folder``."""
    _write_distinct(folder, treebank_tree, ("train.mrg", "dev.mrg"), n_train, n_dev, seed)


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent / "data"
    write_sentiment_sample(root / "sentiment-sample")
    write_parallel_sample(root / "parallel-sample")
    write_treebank_sample(root / "treebank-sample")

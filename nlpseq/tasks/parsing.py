"""Constituency parsing: raw text to labelled parse trees (PTB), or to SST-shaped binary trees."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from ..nltk_light import Tree
from pydantic import BaseModel, Field

from ..config import Count, Section
from ..data.batching import bucket_by_length, pad_sequences, to_device
from ..data.corpora import resolve_ref
from ..data.halves import split_half_ref, take_half
from ..data.ptb import EMPTY, BinaryTree, binarize, debinarize, read_ptb, shape_tree
from ..data.trees import read_sentiment_trees
from ..errors import DataError, InputError
from ..fileio import atomic_write_json
from ..metrics.parseval import score_tree_items
from ..metrics.resampling import ItemStats
from ..registry import TASKS
from ..run import VOCAB
from ..text import Vocab
from ..text.tokenizers import get_tokenizer
from ..train.trainer import TrainData
from .base import Task

LABELS_FILE = "parser.json"  # part-of-speech tags and node labels, beside vocab.json and chars.json
MAX_CHARS = 20  # characters of a word the character features read


class ParseAnswer(BaseModel):
    tokens: list[str]
    tree: str  # one line of PTB brackets


@dataclass
class Treebank:
    trees: list[Tree]  # gold trees as the scorer sees them (PTB: cleaned; SST: shapes)
    source: str


def is_punctuation(token: str) -> bool:
    return not any(ch.isalnum() for ch in token)


@TASKS.register("parsing")
class ParsingTask(Task):
    """Parse sentences into labelled constituency trees with a recursive-network parser."""

    models = ("recursive_parser",)
    default_model = "recursive_parser"
    metric = "labeled_f1"
    plot_name = "parse"

    pipelines = ("parsing",)

    class AnswerOptions(Section):
        decode: Literal["cky", "greedy"] | None = Field(None, description="tree search; default: the recipe's")

    Answer = ParseAnswer
    verb, verb_help = "parse", "parse sentences (arguments, or one per line on stdin) into bracketed trees"

    class EvaluateOptions(Section):
        decode: Literal["cky", "greedy"] | None = Field(None, description="tree search; default: the recipe's model.decode")

    class DataConfig(Section):
        format: Literal["ptb", "sst"] = Field("ptb", description="sst: learn SST's unlabelled binary tree shapes")
        train: str = Field("ptb-sample:0001-0159", description=".mrg file, folder of them, or ptb-sample[:FIRST-LAST]")
        dev: str = Field("ptb-sample:0160-0179", description=(
            "dev trees: a .mrg file, a folder of them, or a corpus reference such as ptb-sample:0160-0179"))
        max_words: Count = Field(150, description="longest sentence the parser accepts from users")

    class TextConfig(Section):
        tokenizer: Literal["ptb", "whitespace"] = Field("ptb", description="how raw text is split into words")
        min_freq: Count = Field(1, description="rarer training words become the unknown word")

    def __init__(self, recipe, run) -> None:
        super().__init__(recipe, run)
        self.vocab: Vocab | None = None
        self.chars: Vocab | None = None
        self.tags: list[str] = []
        self.labels: list[str] = []

    # -- data ------------------------------------------------------------------------------------
    def read(self, ref: str) -> Treebank:
        """Gold trees from ``ref`` in the recipe's format; ``REF@A`` / ``REF@B`` is a half of it."""
        ref, half = split_half_ref(ref)
        where = f"{ref}@{half}" if half else ref
        if self.recipe.data.format == "sst":
            trees = read_sentiment_trees(resolve_ref(ref))
            # Stratified by root label, as the sentiment tasks' halves are: sst:dev@B is the same sentences.
            kept = take_half(trees, half, [t.label() for t in trees])
            return Treebank([shape_tree(t) for t in kept], where)
        return Treebank(take_half(read_ptb(ref), half), where)

    def _word_ids(self, words: list[str]) -> tuple[list[int], list[list[int]]]:
        ids = [self.vocab.stoi.get(w, self.vocab.unk_id) for w in words]
        chars = [[self.chars.stoi.get(c, self.chars.unk_id) for c in w[:MAX_CHARS]] for w in words]
        return ids, chars

    def _encode(self, b: BinaryTree, tag: dict[str, int], label: dict[str, int]) -> dict[str, Any]:
        ids, chars = self._word_ids(b.words)
        return {
            "words": ids, "chars": chars,
            "tags": [tag.get(t, 0) for t in b.tags],
            "leaf_labels": [label.get(t, 0) for t in b.leaf_labels],
            "tree": [(s, e, l, r, label.get(lab, 0)) for s, e, l, r, lab in b.nodes],
        }

    def collate(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """A padded minibatch: word and character ids, lengths, and (when known) the gold annotations."""
        width = max(len(r["words"]) for r in rows)
        longest = max((len(c) for r in rows for c in r["chars"]), default=1)
        chars = torch.zeros(len(rows), width, max(longest, 1), dtype=torch.long)
        for i, r in enumerate(rows):
            for j, c in enumerate(r["chars"]):
                chars[i, j, : len(c)] = torch.tensor(c, dtype=torch.long)
        words, lengths = pad_sequences([r["words"] for r in rows])
        batch = {"words": words, "chars": chars, "lengths": lengths}
        if "tree" in rows[0]:
            batch["tags"] = pad_sequences([r["tags"] for r in rows], -1)[0]
            batch["leaf_labels"] = pad_sequences([r["leaf_labels"] for r in rows], -1)[0]
            batch["trees"] = [r["tree"] for r in rows]
        return batch

    def prepare(self) -> tuple[TrainData, Treebank]:
        d = self.recipe.data
        train, dev = self.read(d.train), self.read(d.dev)
        binary = [binarize(t) for t in train.trees]
        if self.writes_run:
            self.vocab = Vocab.build([b.words for b in binary], self.recipe.text.min_freq)
            self.chars = Vocab.build([list(w) for b in binary for w in b.words], 1)
            self.tags = sorted({t for b in binary for t in b.tags})
            self.labels = [EMPTY] + sorted({lab for b in binary for lab in b.leaf_labels + [n[4] for n in b.nodes]}
                                           - {EMPTY})
            self.vocab.save(self.run / VOCAB)
            self.chars.save(self.run / "chars.json")
            atomic_write_json(self.run / LABELS_FILE, {"tags": self.tags, "labels": self.labels})
        else:
            self.load_text()
        tag = {t: i for i, t in enumerate(self.tags)}
        label = {t: i for i, t in enumerate(self.labels)}
        rows = [self._encode(b, tag, label) for b in binary]
        return TrainData([len(r["words"]) for r in rows], lambda idx: self.collate([rows[i] for i in idx])), dev

    def model_args(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab), "num_chars": len(self.chars), "num_tags": len(self.tags),
                "num_labels": len(self.labels)}

    def info(self) -> dict[str, Any]:
        return {"format": self.recipe.data.format, "labels": self.labels[1:]}

    def load_text(self) -> None:
        self.vocab = Vocab.load(self.run / VOCAB)
        self.chars = Vocab.load(self.run / "chars.json")
        try:
            meta = json.loads((self.run / LABELS_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.run / LABELS_FILE}: missing or damaged ({exc})") from None
        self.tags, self.labels = meta["tags"], meta["labels"]

    # -- parsing ---------------------------------------------------------------------------------
    def parse_tokens(self, model: torch.nn.Module, sentences: list[list[str]], decode: str | None = None,
                     batch_words: int = 4000) -> list[Tree]:
        """Labelled trees for tokenized sentences (none empty), batched by length."""
        trees: list[Tree | None] = [None] * len(sentences)
        rows = [dict(zip(("words", "chars"), self._word_ids(s))) for s in sentences]
        device = next(model.parameters()).device
        model.eval()
        for idx in bucket_by_length([len(s) for s in sentences], batch_words, 64, shuffle=False):
            batch = self.collate([rows[i] for i in idx])
            batch = to_device(batch, device)
            for i, out in zip(idx, model.parse(batch, decode)):
                trees[i] = self._tree(sentences[i], out)
        return trees  # type: ignore[return-value]

    def _tree(self, words: list[str], out: dict[str, Any]) -> Tree:
        labels = self.labels
        b = BinaryTree(list(words), [self.tags[t] for t in out["tags"]], [labels[i] for i in out["leaf_labels"]],
                       [(s, e, l, r, labels[lab]) for (s, e, l, r), lab in zip(out["nodes"], out["labels"])])
        root = "P" if self.recipe.data.format == "sst" else "S"
        return debinarize(b, root_label=root)

    def read_eval(self, ref: str | None, **kwargs: Any) -> Treebank:
        return self.read(ref or self.recipe.data.dev)

    def evaluate(self, model: torch.nn.Module, data: Treebank, plot: str | None = None,
                 decode: str | None = None) -> dict[str, float]:
        return self.evaluate_items(model, data, plot, decode=decode)[0]

    def evaluate_items(self, model: torch.nn.Module, data: Treebank, plot: str | None = None,
                       decode: str | None = None) -> tuple[dict[str, float], dict[str, ItemStats]]:
        sentences = [t.leaves() for t in data.trees]
        start = time.perf_counter()
        predicted = self.parse_tokens(model, sentences, decode)
        seconds = time.perf_counter() - start
        result, items = score_tree_items(data.trees, predicted)
        result["count"] = result.pop("sentences")
        return {**result, "sentences_per_s": len(sentences) / max(seconds, 1e-9)}, items

    def words(self, text: str, where: str = "input 0") -> list[str]:
        """The words of one raw sentence, checked: raises :class:`InputError` starting with ``where``."""
        words = get_tokenizer(self.recipe.text.tokenizer).tokenize(text)
        if not words:
            raise InputError(f"{where} is empty or only whitespace")
        if all(is_punctuation(w) for w in words):
            raise InputError(f"{where} is only punctuation: there is nothing to parse")
        if len(words) > self.recipe.data.max_words:
            raise InputError(f"{where} has {len(words)} words; the parser accepts at most "
                             f"{self.recipe.data.max_words} (data.max_words)")
        return words

    def tokenize(self, inputs: Any) -> list[list[str]]:
        """Words of each raw input, checked: raises :class:`InputError` naming the bad input."""
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a string or a list of strings, got {type(inputs).__name__}")
        out = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"input {i} is a {type(t).__name__}, not a string")
            out.append(self.words(t, f"input {i}"))
        return out

    def answer(self, model: torch.nn.Module, inputs: Any, decode: str | None = None) -> list[dict[str, Any]]:
        """For each raw sentence: its tokens and its parse as a one-line bracketed tree."""
        sentences = self.tokenize(inputs)
        trees = self.parse_tokens(model, sentences, decode)
        return [{"tokens": s, "tree": t.pformat(margin=1 << 30)} for s, t in zip(sentences, trees)]

    def show(self, answer: dict[str, Any]) -> str:
        return answer["tree"]

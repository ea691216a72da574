"""Phrase-level sentiment over parse trees with recursive networks (RecNN, RNTN, Tree-LSTM)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from ..nltk_light import Tree

from pydantic import Field

from ..config import Count, Section
from ..data.batching import bucket_by_length, to_device
from ..data.cache import encode_cached, file_digest, fingerprint
from ..data.corpora import resolve_ref
from ..data.halves import split_half_ref, take_half
from ..data.treebatch import collate_trees, encode_tree
from ..data.trees import (BINARY_LABELS, SST_LABELS, binary_label, check_sentiment_tree, count_brackets,
                          is_preterminal, parse_tree, phrase_spans, read_bracketing, read_sentiment_trees,
                          tree_tokens)
from ..errors import DataError, InputError, RecipeError
from ..metrics.classification import confusion_matrix, plot_confusion
from ..metrics.resampling import ItemStats
from ..recipe import Recipe
from ..registry import TASKS
from ..render import to_svg
from ..run import VOCAB
from ..text import Vocab
from ..text.char_ngrams import CharNgrams
from ..train.trainer import TrainData
from .base import Task, load_run
from .sentiment import SentimentTask
from .sentiment_answer import SentimentAnswer, TreeOptions


@dataclass
class TreeSet:
    trees: list[Tree]
    source: str


def _binary_right(probs: torch.Tensor, gold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(right, counted) per node for binary accuracy: only non-neutral gold labels (SST's 0-4) count,
    predicted by negative vs positive probability mass: of labels 0-1 against 3-4 for a five-class
    model, of its two labels for a binary one."""
    keep = gold != 2
    if probs.size(-1) == len(SST_LABELS):
        pos = probs[:, 3:].sum(-1) > probs[:, :2].sum(-1)
    else:
        pos = probs[:, 1] > probs[:, 0]
    return (keep & (pos == (gold > 2))).double(), keep.double()


def _node_loss(probs: torch.Tensor, gold: torch.Tensor, binary: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(negative log-likelihood, counted) per node of the gold label the model was trained on."""
    if binary:
        keep = gold != 2
        target = (gold > 2).long()
    else:
        keep, target = torch.ones_like(gold, dtype=torch.bool), gold
    nll = -probs.clamp_min(1e-12).log().gather(1, target.clamp(0, probs.size(1) - 1).unsqueeze(1)).squeeze(1)
    return torch.where(keep, nll.double(), 0.0), keep.double()


def _binary_label(fine: str) -> int:
    """SST's 0-4 as negative (0) / positive (1); neutral gets the label cross-entropy ignores."""
    label = binary_label(int(fine))
    return -100 if label is None else label


@TASKS.register("tree_sentiment")
class TreeSentimentTask(Task):
    """Label every phrase of a binary sentiment tree (SST), as in Socher et al. (2013)."""

    models = ("rntn", "recnn", "treelstm")
    default_model = "rntn"
    metric = "root_fine"

    pipelines = ("sentiment", "sentiment-analysis")
    AnswerOptions = TreeOptions
    Answer = SentimentAnswer
    service_defaults = {"phrases": False}  # over HTTP the compact answer unless a client asks for phrases
    verb, verb_help = SentimentTask.verb, SentimentTask.verb_help

    class EvaluateOptions(Section):
        parser: str | None = Field(None, description=(
            "a parser run or shipped parser: score root labels on the trees it builds from each sentence's words"))

    class DataConfig(Section):
        train: str = Field("sst:train", description="SST-format trees: a 0-4 label on every node")
        dev: str = Field("sst:dev", description=(
            "dev trees: SST-format trees, a path or a corpus reference such as sst:dev"))
        max_nodes: Count = Field(1000, description="largest tree the pipeline accepts")
        teachers: list[str] = Field([], description=(
            "run directories of trained tree models: their mean node probabilities become soft labels"))
        # fine: SST's five classes on every node. binary: negative/positive as in the paper's binary
        # experiments: training sentences with a neutral root are dropped (8,544 -> 6,920) and neutral
        # phrases carry no label; only the binary metrics are reported.
        labels: Literal["fine", "binary"] = Field("fine", description=(
            "fine: five classes on every node; binary: negative/positive with neutral nodes left out of the loss"))

    class TextConfig(Section):
        lowercase: bool = Field(False, description="SST's RNTN keeps case")
        min_freq: Count = Field(1, description="rarer training words become the unknown word")

    def __init__(self, recipe, run) -> None:
        super().__init__(recipe, run)
        self.vocab: Vocab | None = None
        self.binary = recipe.data.labels == "binary"
        self.label_names = list(BINARY_LABELS if self.binary else SST_LABELS)
        self.ngrams = CharNgrams.for_model(recipe.model)

    def _leaf_ngrams(self, tokens: list[str]) -> torch.Tensor:
        """``(leaves, K)`` n-gram ids of a batch's leaves, in ``collate_trees`` order (trees in turn, left to right)."""
        return self.ngrams.batch([tokens])[0]

    def _read(self, ref: str) -> TreeSet:
        ref, half = split_half_ref(ref)
        path = resolve_ref(ref)
        trees = read_sentiment_trees(path)
        # Stratified by root label, as the sentence classifiers' halves are: the same trees in each half.
        return TreeSet(take_half(trees, half, [t.label() for t in trees]), f"{path}@{half}" if half else str(path))

    def _encode(self, trees: list[Tree]) -> list[dict]:
        low = self.recipe.text.lowercase
        return [encode_tree(t, self.vocab, low) for t in trees]

    def prepare(self) -> tuple[TrainData, TreeSet]:
        d, t = self.recipe.data, self.recipe.text
        train, dev = self._read(d.train), self._read(d.dev)
        if self.binary:
            train = TreeSet([tr for tr in train.trees if tr.label() != "2"], train.source)
        tokens = [[w.lower() if t.lowercase else w for w in tree_tokens(tr)] for tr in train.trees]
        if self.writes_run:
            self.vocab = Vocab.build(tokens, t.min_freq)
            self.vocab.save(self.run / VOCAB)
        else:  # a distributed rank other than 0 uses the vocabulary rank 0 built
            self.vocab = Vocab.load(self.run / VOCAB)
        strings = [tr.pformat(margin=1 << 30) for tr in train.trees]
        vocab, low = self.vocab, t.lowercase
        label_of = _binary_label if self.binary else int

        def encode(batch: dict[str, list]) -> dict[str, list]:
            rows = [encode_tree(Tree.fromstring(s), vocab, low, label_of) for s in batch["tree"]]
            out = {k: [r[k] for r in rows] for k in ("words", "left", "right", "height", "labels")}
            out["length"] = [len(r["words"]) for r in rows]
            return out

        key = fingerprint("tree_sentiment", file_digest(resolve_ref(d.train)), t.model_dump(), fingerprint(vocab.itos),
                          d.labels)
        ds = encode_cached({"tree": strings}, encode, key)
        lengths = ds.data.column("length").to_pylist()
        soft = self._teacher_probabilities(train.trees)

        def make_batch(idx: list[int]) -> dict:
            rows = ds[idx]
            batch = collate_trees([{k: rows[k][i] for k in rows} for i in range(len(idx))])
            if soft is not None:
                post = torch.cat([soft[i] for i in idx])
                batch["soft_labels"] = post.new_empty(post.shape)
                batch["soft_labels"][batch["positions"]] = post
            if self.ngrams is not None:
                itos = self.vocab.itos
                batch["ngrams"] = self._leaf_ngrams([itos[i] for i in batch["words"].tolist()])
            return batch

        return TrainData(lengths, make_batch), dev

    @classmethod
    def check_recipe(cls, recipe: Recipe) -> None:
        teachers, weight = recipe.data.teachers, recipe.model.distill_weight
        if bool(teachers) != (weight > 0):
            raise RecipeError("data.teachers and model.distill_weight go together: give both (teacher runs and a "
                              f"weight above 0) or neither (got {len(teachers)} teacher runs, weight {weight})")
        metric = recipe.train.metric or cls.metric
        if recipe.data.labels == "binary" and metric not in ("root_binary", "phrase_binary"):
            raise RecipeError("data.labels: binary reports only root_binary and phrase_binary; set train.metric "
                              "to one of them")

    def _teacher_probabilities(self, trees: list[Tree]) -> list[torch.Tensor] | None:
        """Per training tree, the teachers' mean label probabilities of every node (post-order)."""
        teachers = self.recipe.data.teachers
        if not teachers:
            return None

        total = None
        for path in teachers:
            task, model = load_run(path, "tree_sentiment")
            if task.label_names != self.label_names:
                raise RecipeError(f"data.teachers: {path} labels {len(task.label_names)} classes, this recipe "
                                  f"{len(self.label_names)} (data.labels must agree)")
            probs = task.node_probabilities(model, trees)
            total = probs if total is None else [a + b for a, b in zip(total, probs)]
        return [p / len(teachers) for p in total]

    def model_args(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab), "num_labels": len(self.label_names)}

    def info(self) -> dict[str, Any]:
        return {"labels": self.label_names}

    def load_text(self) -> None:
        self.vocab = Vocab.load(self.run / VOCAB)

    # -- inference -------------------------------------------------------------------------------
    def node_probabilities(self, model: torch.nn.Module, trees: list[Tree]) -> list[torch.Tensor]:
        """Per tree, a (nodes, labels) tensor of label probabilities in post-order."""
        rows = self._encode(trees)
        out: list[torch.Tensor] = [torch.empty(0)] * len(rows)
        device = next(model.parameters()).device
        model.eval()
        with torch.inference_mode():
            for idx in bucket_by_length([len(r["words"]) for r in rows], 20_000, 256, shuffle=False):
                batch = collate_trees([rows[i] for i in idx])
                if self.ngrams is not None:  # from the trees' words, so unseen words keep their n-grams
                    low = self.recipe.text.lowercase
                    batch["ngrams"] = self._leaf_ngrams([w.lower() if low else w for i in idx
                                                         for w in tree_tokens(trees[i])])
                inputs = to_device({k: v for k, v in batch.items() if k != "labels"}, device)
                probs = torch.softmax(model(inputs)["logits"].float(), -1).cpu()
                flat = probs[batch["positions"]]  # back from height order to each tree's post-order
                start = 0
                for i in idx:
                    n = len(rows[i]["words"])
                    out[i] = flat[start : start + n]
                    start += n
        return out

    def read_eval(self, ref: str | None, **kwargs: Any) -> TreeSet:
        return self._read(ref or self.recipe.data.dev)

    def evaluate(self, model: torch.nn.Module, data: TreeSet, plot: str | None = None,
                 parser: tuple[Task, torch.nn.Module] | None = None) -> dict[str, float]:
        """Phrase and root accuracies on gold trees; with a ``parser``, root accuracies on the trees it
        builds from each sentence's words (phrases then differ from the gold ones and are not scored)."""
        if parser is not None:
            return self._evaluate_parsed(model, data, parser)[0]
        return self.evaluate_items(model, data, plot)[0]

    def evaluate_items(self, model: torch.nn.Module, data: TreeSet, plot: str | None = None, **options: Any
                       ) -> tuple[dict[str, float], dict[str, ItemStats]]:
        """Metrics on gold trees and, per tree, their sufficient statistics (a tree is one item)."""
        if options.get("parser") is not None:
            return self._evaluate_parsed(model, data, options["parser"])
        probs = self.node_probabilities(model, data.trees)
        gold = [torch.tensor(encode_tree(t, self.vocab)["labels"]) for t in data.trees]
        if plot:
            all_p, all_g = torch.cat(probs), torch.cat(gold)
            gold_ids, pred = all_g, all_p.argmax(-1)
            if self.binary:  # neutral phrases have no binary label
                keep = all_g != 2
                gold_ids, pred = (all_g[keep] > 2).long(), pred[keep]
            conf = confusion_matrix(gold_ids.tolist(), pred.tolist(), len(self.label_names))
            plot_confusion(conf, self.label_names, plot, title=f"{data.source} (all phrases)")
        rows: dict[str, list[tuple[float, float]]] = {k: [] for k in
                                                       ("phrase_fine", "root_fine", "phrase_binary", "root_binary")}
        nll, nodes = 0.0, 0.0
        for p, g in zip(probs, gold):
            right = (p.argmax(-1) == g).double()
            rows["phrase_fine"].append((float(right.sum()), len(g)))
            rows["root_fine"].append((float(right[-1]), 1.0))
            b_right, b_count = _binary_right(p, g)
            rows["phrase_binary"].append((float(b_right.sum()), float(b_count.sum())))
            rows["root_binary"].append((float(b_right[-1]), float(b_count[-1])))
            node_nll, counted = _node_loss(p, g, self.binary)
            nll, nodes = nll + float(node_nll.sum()), nodes + float(counted.sum())
        if self.binary:
            del rows["phrase_fine"], rows["root_fine"]
        items = {k: ItemStats.ratio([r for r, _ in v], [c for _, c in v]) for k, v in rows.items()}
        metrics = {k: items[k].value for k in rows}
        # The loss is the one the model trains on, per labelled node (train.select: loss reads it).
        return {**metrics, "loss": nll / max(nodes, 1.0), "count": len(data.trees)}, items

    def _evaluate_parsed(self, model: torch.nn.Module, data: TreeSet, parser: tuple[Task, torch.nn.Module]
                         ) -> tuple[dict[str, float], dict[str, ItemStats]]:
        """Root scores on the trees ``parser`` builds from each gold tree's words (the raw-text condition),
        with per-sentence statistics; phrases are not scored, as parsed phrases differ from gold ones."""
        from ..data.ptb import shape_tree, to_sentiment_tree
        from ..metrics.parseval import score_tree_items

        task, net = parser
        parsed = [to_sentiment_tree(t) for t in task.parse_tokens(net, [tree_tokens(t) for t in data.trees])]
        shapes, shape_items = score_tree_items([shape_tree(t) for t in data.trees], [shape_tree(t) for t in parsed])
        probs = self.node_probabilities(model, parsed)
        root_p = torch.stack([p[-1] for p in probs])
        root_g = torch.tensor([int(t.label()) for t in data.trees])
        right, counted = _binary_right(root_p, root_g)
        items = {"root_binary": ItemStats.ratio(right.double().tolist(), counted.double().tolist()),
                 "parse_unlabeled_f1": shape_items["unlabeled_f1"]}
        if not self.binary:
            fine = (root_p.argmax(-1) == root_g).double().tolist()
            items["root_fine"] = ItemStats.ratio(fine, [1.0] * len(fine))
        metrics = {k: it.value for k, it in items.items()}
        return {**metrics, "count": len(data.trees)}, items

    def answer(self, model: torch.nn.Module, inputs: Any, parser: tuple[Task, torch.nn.Module] | None = None,
               phrases: bool = True, render: bool = False) -> list[dict[str, Any]]:
        """Answers for PTB-bracket trees, or raw text when a ``parser`` (its task and model) is given:
        the sentence label, the labelled tree and (``phrases``) a label for every phrase; ``render``
        adds an SVG drawing of the tree."""
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a tree string or a list of them, got {type(inputs).__name__}")
        parsed = self._parse_inputs(texts, parser) if parser is not None else {}
        trees = []
        for i, t in enumerate(texts):
            if i in parsed:
                trees.append(parsed[i])
                continue
            if not isinstance(t, str):
                raise InputError(f"input {i} is a {type(t).__name__}, not a string")
            if not t.strip():
                raise InputError(f"input {i} is empty or only whitespace")
            if not t.lstrip().startswith("("):
                raise InputError(f"input {i} is raw text: a tree model needs a parse tree like '((A) (film))' or a "
                                 "parser model to build one (--parser PARSER, or parser= in Python; shipped tree "
                                 "models bring their own)")
            if count_brackets(t) > self.recipe.data.max_nodes:  # counted before parsing costs anything
                raise InputError(f"input {i} has {count_brackets(t)} nodes, over this model's limit of "
                                 f"{self.recipe.data.max_nodes} (data.max_nodes)")
            try:
                tree = check_sentiment_tree(parse_tree(t, f"input {i}"), f"input {i}")
            except DataError:
                # Not an SST tree (a parser's NP/VP labels, no labels, n-ary phrases): its bracketing is
                # what the model reads, and its labels are not used.
                try:
                    tree = read_bracketing(t, f"input {i}")
                except DataError as exc:
                    raise InputError(str(exc)) from None
            trees.append(tree)
        answers = []
        for tree, probs in zip(trees, self.node_probabilities(model, trees)):
            ans = self._tree_answer(tree, probs, phrases)
            if render:
                ans["svg"] = to_svg(Tree.fromstring(ans["tree"]))
            answers.append(ans)
        return answers

    @staticmethod
    def _parse_inputs(texts: list[Any], parser: tuple[Task, torch.nn.Module]) -> dict[int, Tree]:
        """The parse of every raw sentence among ``texts``, by index, as an SST-format tree (every label 2).

        Sentences are checked one by one, so an error names the input's own index, and parsed together.
        The trees stay objects: a word such as a backslash need not survive a round trip through brackets.
        A text of several sentences is parsed sentence by sentence (the parser's cost grows with the cube
        of a sentence's length, and its limit is per sentence), and their trees are joined right-branching
        under one root, which the model labels as the whole text.
        """
        from ..data.ptb import to_sentiment_tree
        from ..text.sentences import split_sentences

        task, net = parser
        raw = [i for i, t in enumerate(texts) if isinstance(t, str) and not t.lstrip().startswith("(")]
        owners, words = [], []
        for i in raw:
            for n, sentence in enumerate(split_sentences(texts[i])):
                owners.append(i)
                words.append(task.words(sentence, f"input {i}" + (f", sentence {n + 1}" if n else "")))
        sentences: dict[int, list[Tree]] = {}
        for i, tree in zip(owners, task.parse_tokens(net, words)):
            sentences.setdefault(i, []).append(to_sentiment_tree(tree))
        out = {}
        for i, trees in sentences.items():
            joined = trees[-1]
            for tree in reversed(trees[:-1]):
                joined = Tree("2", [tree, joined])
            out[i] = joined
        return out

    def _tree_answer(self, tree: Tree, probs: torch.Tensor, phrases: bool = True) -> dict[str, Any]:
        names = self.label_names
        labelled = tree.copy(deep=True)
        spans = phrase_spans(labelled)  # post-order, as the probabilities are
        tokens = [" ".join(node) for node, _, _ in spans if is_preterminal(node)]
        rows = probs.tolist()
        best = [max(range(len(row)), key=row.__getitem__) for row in rows]
        for (node, _, _), b in zip(spans, best):
            # A binary model's labels are written as SST's negative (1) and positive (3), so the tree
            # reads and draws like any SST tree.
            node.set_label(str((1, 3)[b] if self.binary else b))
        root = {"label": names[best[-1]], "score": rows[-1][best[-1]], "scores": dict(zip(names, rows[-1]))}
        answer = {**root, "tree": labelled.pformat(margin=1 << 30)}
        if phrases:  # a phrase's text is its span of the tokens: the answer grows with the spans, not beyond
            answer["phrases"] = [{"text": " ".join(tokens[a:e]), "label": names[b], "score": row[b],
                                  "scores": dict(zip(names, row))} for (_, a, e), b, row in zip(spans, best, rows)]
        return answer

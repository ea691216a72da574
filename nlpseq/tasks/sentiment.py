"""The sentiment task: many-to-one classification of texts, answered as label + probabilities."""

from __future__ import annotations

from typing import Any, Literal

import torch

from pydantic import Field

from ..config import Count, Section, Share
from ..data.batching import bucket_by_length, pad_sequences
from ..data.cache import encode_cached, file_digest, fingerprint
from ..data.corpora import resolve_ref
from ..data.halves import split_half_ref
from ..errors import DataError, InputError, RecipeError
from ..metrics.classification import accuracy, confusion_matrix, macro_f1, plot_confusion
from ..metrics.resampling import ItemStats
from ..registry import TASKS
from ..run import VOCAB
from ..text import Vocab, get_tokenizer
from ..text.sentences import split_sentences
from ..text.char_ngrams import CharNgrams
from ..train.trainer import TrainData
from .base import Task
from .sentiment_answer import SentimentAnswer, TextOptions
from ..data.sentiment import LabelledSet, looks_like_trees, read_package, read_sst, read_tsv, sst_label_names


@TASKS.register("sentiment")
class SentimentTask(Task):
    """Sentence or document sentiment with a recurrent classifier."""

    models = ("rnn_classifier",)
    default_model = "rnn_classifier"
    metric = "accuracy"

    pipelines = ("sentiment", "sentiment-analysis", "text-classification")
    AnswerOptions = TextOptions
    Answer = SentimentAnswer
    service_defaults = {"phrases": False}
    verb, verb_help = "sentiment", "label texts (arguments, or one per line on stdin) as JSON lines"

    class DataConfig(Section):
        corpus: Literal["sst", "sentence-polarity", "movie-reviews", "tsv"] = Field("sst", description=(
            "the corpus the train and dev references are read as"))
        train: str | None = Field(None, description=(
            "data reference (path or 'sst:train'); null: the corpus's training data"))
        dev: str | None = Field(None, description=(
            "null: SST dev, or the held-out share of a corpus without a dev split"))
        labels: Literal["fine", "binary"] = Field("fine", description="SST: five classes, or two with neutral dropped")
        phrases: bool = Field(False, description="SST: train on every labelled phrase of the training trees")
        dev_fraction: Share = Field(0.1, description=(
            "held-out share for corpora without a dev split (split fixed by seed)"))
        max_length: Count = Field(400, description="tokens kept per text; longer documents are truncated")
        max_chars: Count = Field(20_000, description="longest text the pipeline accepts")
        # A model trained on sentences reads a long text poorly as one sequence: a text of more tokens
        # than this is answered sentence by sentence, and as a whole by their length-weighted mean.
        split_tokens: Count | None = Field(None, description=(
            "texts of more tokens are answered sentence by sentence, and as a whole by their length-weighted mean; "
            "null: never split"))

    class TextConfig(Section):
        tokenizer: Literal["ptb", "whitespace"] = Field("ptb", description=(
            "ptb (nltk's Treebank tokenizer, SST's conventions) or whitespace"))
        lowercase: bool = Field(True, description="lowercase the text first")
        min_freq: Count = Field(1, description="rarer training tokens become <unk>")
        max_size: Count | None = Field(None, description="most words in the vocabulary (the commonest kept); null: all")

    def __init__(self, recipe, run) -> None:
        super().__init__(recipe, run)
        t = recipe.text
        self.tokenizer = get_tokenizer(t.tokenizer, lowercase=t.lowercase)
        self.vocab: Vocab | None = None
        self.label_names: list[str] = []
        self.ngrams = CharNgrams.for_model(recipe.model)

    # -- data ------------------------------------------------------------------------------------
    def _read(self, ref: str | None, part: str) -> LabelledSet:
        d = self.recipe.data
        if d.corpus in ("sentence-polarity", "movie-reviews") and ref is None:
            return read_package(d.corpus, part, d.dev_fraction, self.recipe.seed)
        if ref is None:
            if d.corpus != "sst":
                raise RecipeError(f"data.{part}: a file path is needed for corpus '{d.corpus}'")
            ref = f"sst:{part}"
        ref, half = split_half_ref(ref)
        path = resolve_ref(ref)
        if d.corpus == "sst" or looks_like_trees(path):
            if d.corpus != "sst":
                raise DataError(f"{path}: holds trees, but this model was trained on '{d.corpus}'")
            return read_sst(path, d.labels, d.phrases and part == "train", half)
        if half:
            raise DataError(f"{ref}@{half}: halves (@A, @B) are taken of tree files and parallel corpora only")
        if d.corpus == "tsv":
            data, names = read_tsv(path, self.label_names or None)
            self.label_names = names
            return data
        raise DataError(f"{path}: corpus '{d.corpus}' is read by name; use data reference '{d.corpus}:{part}'")

    def _tokens(self, data: LabelledSet) -> list[list[str]]:
        max_len = self.recipe.data.max_length
        if data.tokens is not None:
            seqs = [[t.lower() for t in s] if self.recipe.text.lowercase else s for s in data.tokens]
        else:
            seqs = [self.tokenizer.tokenize(t) for t in data.texts]
        return [s[:max_len] for s in seqs]

    def _encode(self, data: LabelledSet, key_parts: list) -> Any:
        tokens = self._tokens(data)
        vocab = self.vocab

        def encode(batch: dict[str, list]) -> dict[str, list]:
            ids = [vocab.encode(t) or [vocab.unk_id] for t in batch["tokens"]]
            return {"ids": ids, "label": batch["label"], "length": [len(i) for i in ids]}

        key = fingerprint("sentiment", key_parts, self.recipe.data.model_dump(), self.recipe.text.model_dump(),
                          fingerprint(vocab.itos))
        return encode_cached({"tokens": tokens, "label": data.labels}, encode, key)

    def _label_names(self) -> list[str]:
        d = self.recipe.data
        if d.corpus == "sst":
            return list(sst_label_names(d.labels))
        if d.corpus == "tsv":
            return self.label_names
        return ["negative", "positive"]

    def prepare(self) -> tuple[TrainData, LabelledSet]:
        d = self.recipe.data
        train = self._read(d.train, "train")
        dev = self._read(d.dev, "dev")
        self.label_names = self._label_names()
        tokens = self._tokens(train)
        t = self.recipe.text
        if self.writes_run:
            self.vocab = Vocab.build(tokens, t.min_freq, t.max_size)
            self.vocab.save(self.run / VOCAB)
        else:  # a distributed rank other than 0 uses the vocabulary rank 0 built
            self.vocab = Vocab.load(self.run / VOCAB)
        digest = file_digest(resolve_ref(d.train)) if d.train else d.corpus
        ds = self._encode(train, [digest, "train", len(train.labels)])
        lengths = ds.data.column("length").to_pylist()  # one Arrow read, not one per example

        def make_batch(idx: list[int]) -> dict:
            rows = ds[idx]
            ids, lens = pad_sequences(rows["ids"])
            batch = {"ids": ids, "lengths": lens, "labels": torch.tensor(rows["label"])}
            if self.ngrams is not None:
                itos = self.vocab.itos
                batch["ngrams"] = self.ngrams.batch([[itos[i] for i in row] for row in rows["ids"]])
            return batch

        return TrainData(lengths, make_batch), dev

    def model_args(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab), "num_labels": len(self.label_names)}

    def build_model(self) -> torch.nn.Module:
        model = super().build_model()
        cfg = self.recipe.model
        if getattr(cfg, "pretrained_vectors", None):  # a model of another package may not take vectors
            from ..nn import load_word_vectors
            from ..text.word2vec import resolve_vectors

            path = resolve_vectors(cfg.pretrained_vectors, cfg.embedding_dim, self.recipe.seed)
            weights, _ = load_word_vectors(path, self.vocab, cfg.embedding_dim)
            model.embed.load_pretrained(weights, cfg.freeze_embeddings)
        return model

    def info(self) -> dict[str, Any]:
        return {"labels": self.label_names}

    def load_text(self) -> None:
        self.vocab = Vocab.load(self.run / VOCAB)
        self.label_names = list(self.run.info_field(
            "labels", list, lambda v: len(v) >= 2 and all(isinstance(x, str) for x in v)))

    # -- inference -------------------------------------------------------------------------------
    def _probabilities(self, model: torch.nn.Module, seqs: list[list[str]], batch_tokens: int = 8000) -> torch.Tensor:
        ids = [self.vocab.encode(s) or [self.vocab.unk_id] for s in seqs]
        probs = torch.empty(len(ids), len(self.label_names))
        device = next(model.parameters()).device
        model.eval()
        with torch.inference_mode():
            for idx in bucket_by_length([len(i) for i in ids], batch_tokens, 512, shuffle=False):
                x, lens = pad_sequences([ids[i] for i in idx])
                ngrams = None
                if self.ngrams is not None:  # from the strings, so unseen words keep their n-grams
                    ngrams = self.ngrams.batch([seqs[i] or [self.vocab.itos[self.vocab.unk_id]] for i in idx])
                    ngrams = ngrams.to(device)
                logits = model.logits(x.to(device), lens.to(device), ngrams)
                probs[idx] = torch.softmax(logits.float(), -1).cpu()
        return probs

    def read_eval(self, ref: str | None, **kwargs: Any) -> LabelledSet:
        return self._read(ref if ref is not None else self.recipe.data.dev, "dev")

    def evaluate(self, model: torch.nn.Module, data: LabelledSet, plot: str | None = None) -> dict[str, float]:
        return self.evaluate_items(model, data, plot)[0]

    def evaluate_items(self, model: torch.nn.Module, data: LabelledSet, plot: str | None = None, **options: Any
                       ) -> tuple[dict[str, float], dict[str, ItemStats]]:
        """Metrics and, per text, the sufficient statistics of each accuracy (a text is one item)."""
        probs = self._probabilities(model, self._tokens(data))
        metrics = self.score(probs, data, plot)
        gold = torch.tensor(data.labels)
        right = (probs.argmax(-1) == gold).double()
        ones = torch.ones_like(right)
        items = {"accuracy": ItemStats.ratio(right, ones)}
        if "root_fine" in metrics:
            items["root_fine"] = items["accuracy"]
        if "root_binary" in metrics and len(self.label_names) == 5:
            fine = torch.tensor(data.fine_gold)
            pos = probs[:, 3:].sum(-1) > probs[:, :2].sum(-1)
            items["root_binary"] = ItemStats.ratio(((fine != 2) & (pos == (fine > 2))).double(), (fine != 2).double())
        elif "root_binary" in metrics:
            items["root_binary"] = items["accuracy"]
        # The training objective per text: what train.select: loss compares.
        metrics["loss"] = float(-probs.clamp_min(1e-12).log().gather(1, gold.unsqueeze(1)).mean()) if len(gold) else 0.0
        return metrics, items

    def score(self, probs: torch.Tensor, data: LabelledSet, plot: str | None = None) -> dict[str, float]:
        """Metrics of class probabilities against ``data``; SST gets the root metrics of Socher et al. (2013)."""
        pred = probs.argmax(-1).tolist()
        gold = data.labels
        conf = confusion_matrix(gold, pred, len(self.label_names))
        out = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(conf), "count": len(gold)}
        if data.fine_gold is not None:
            if len(self.label_names) == 5:
                out["root_fine"] = out["accuracy"]
                # Binary from a five-class model: neutral roots dropped, negative vs positive mass compared.
                keep = [i for i, g in enumerate(data.fine_gold) if g != 2]
                neg, pos = probs[:, :2].sum(-1), probs[:, 3:].sum(-1)
                out["root_binary"] = accuracy([int(data.fine_gold[i] > 2) for i in keep],
                                              [int(pos[i] > neg[i]) for i in keep])
            else:
                out["root_binary"] = out["accuracy"]
        if plot:
            plot_confusion(conf, self.label_names, plot, title=data.source)
        return out

    def evaluate_baseline(self, name: str, data: LabelledSet) -> dict[str, float]:
        """Score a non-neural baseline (``vader``) on ``data`` with this task's labels and metrics."""
        from ..baselines import BASELINES

        return self.score(BASELINES[name](data.texts, len(self.label_names)), data)

    def check_texts(self, texts: Any) -> list[str]:
        """Validate pipeline input: a string or a list of non-empty strings within ``max_chars``.

        Raises:
            InputError: names the offending item and what is wrong with it.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a string or a list of strings, got {type(texts).__name__}")
        limit = self.recipe.data.max_chars
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text {i} is a {type(t).__name__}, not a string")
            if not t.strip():
                raise InputError(f"text {i} is empty or only whitespace")
            if len(t) > limit:
                raise InputError(f"text {i} has {len(t)} characters, over the limit of {limit}")
        return list(texts)

    def answer(self, model: torch.nn.Module, inputs: Any, phrases: bool = False, render: bool = False
               ) -> list[dict[str, Any]]:
        texts = self.check_texts(inputs)
        max_len, split = self.recipe.data.max_length, self.recipe.data.split_tokens
        pieces: list[list[str]] = []  # each text's sentences (itself, when it is short)
        for text in texts:
            parts = split_sentences(text) if split and len(self.tokenizer.tokenize(text)) > split else [text]
            pieces.append(parts)
        seqs = [self.tokenizer.tokenize(p)[:max_len] or ["<unk>"] for parts in pieces for p in parts]
        rows = iter(self._probabilities(model, seqs).tolist())
        out = []
        for parts in pieces:
            sentence_rows = [next(rows) for _ in parts]
            if len(parts) == 1:
                out.append(self._labelled(sentence_rows[0]))
                continue
            sizes = [len(self.tokenizer.tokenize(p)) or 1 for p in parts]
            whole = [sum(r[k] * n for r, n in zip(sentence_rows, sizes)) / sum(sizes)
                     for k in range(len(self.label_names))]
            out.append({**self._labelled(whole),
                        "sentences": [{"text": p, **self._labelled(r)} for p, r in zip(parts, sentence_rows)]})
        return out

    def _labelled(self, row: list[float]) -> dict[str, Any]:
        best = max(range(len(row)), key=row.__getitem__)
        return {"label": self.label_names[best], "score": row[best], "scores": dict(zip(self.label_names, row))}

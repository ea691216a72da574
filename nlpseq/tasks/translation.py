"""Translation: SentencePiece subwords, an encoder-decoder with attention, beam search, BLEU/chrF."""

from __future__ import annotations

import itertools
import logging
import random
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal

import torch
from pydantic import BaseModel, Field, model_validator

from ..bounds import MAX_BEAM
from ..config import Count, Section
from ..data.batching import LengthsInRange, bucket_by_length, pad_sequences
from ..data.cache import encode_cached, file_digest, fingerprint
from ..data.corpora import CORPORA, corpus_file, resolve_ref
from ..data.halves import split_half_ref, take_half
from ..data.readers import iter_parallel, read_parallel
from ..decode import DecodeConfig, beam_search, endings_needed, greedy_search, mbr_rank
from ..decode.shortlist import LexicalTable
from ..errors import DataError, InputError, RecipeError
from ..metrics.bleu import bleu_chrf
from ..metrics.resampling import ItemStats
from ..registry import TASKS
from ..run import TOKENIZER
from ..text.subword import SentencePieceTokenizer, reservoir_sample
from ..text.vocab import Vocab
from ..train.trainer import TrainData
from .base import Task, mean_loss

log = logging.getLogger(__name__)

SHORTLIST = "shortlist.safetensors"  # the lexical table of a run, built on first use
SHORTLIST_PAIRS = 200_000  # training pairs sampled for it: IBM Model 1 holds every pair's links in memory


def _pair_features(with_text: bool = False) -> Any:
    """Stored types of an encoded training pair: 32-bit ids, half the disk of the 64-bit default;
    ``with_text`` keeps the raw lines too, for subword sampling, which segments them anew each draw."""
    from datasets import Features, Sequence, Value

    cols = {"src": Sequence(Value("int32")), "tgt": Sequence(Value("int32")), "length": Value("int32")}
    if with_text:
        cols.update(src_text=Value("string"), tgt_text=Value("string"))
    return Features(cols)


def pair_lengths(src: list[list[int]], tgt: list[list[int]]) -> list[int]:
    """What a pair costs in a batch: the longer of its source and its target with ``</s>``."""
    return [max(len(a), len(b) + 1) for a, b in zip(src, tgt)]


class Hypothesis(BaseModel):
    translation: str
    score: float
    expected_chrf: float | None = None  # with minimum Bayes risk decoding (decode.mbr_temperature)
    attention: dict[str, Any] | None = None  # source and target pieces and the weights (attention: true)


class TranslationAnswer(Hypothesis):
    n_best: list[Hypothesis] | None = None


@dataclass
class ParallelSet:
    sources: list[str]
    references: list[str]
    source: str


@TASKS.register("translation")
class TranslationTask(Task):
    """Translate sentences from ``data.src`` to ``data.tgt``."""

    models = ("lstm_seq2seq",)
    default_model = "lstm_seq2seq"
    metric = "bleu"

    class DataConfig(Section):
        src: str = Field("de", description="source language code (file suffix)")
        tgt: str = Field("en", description="target language code: the file suffix of the corpus")
        train: str = Field("multi30k:train", description=(
            "corpus:split, or a path prefix whose .<lang>[.gz] files are read"))
        dev: str = Field("multi30k:val", description=(
            "dev pairs: corpus:split, or a path prefix PREFIX whose PREFIX.<src> and PREFIX.<tgt> are read"))
        max_src_len: Count = Field(100, description="longer sources are truncated (with a warning) when translating")
        max_train_len: Count = Field(80, description="training pairs with more pieces on either side are skipped")

    class TextConfig(Section):
        model_type: Literal["unigram", "bpe"] = Field("unigram", description="SentencePiece model: unigram or bpe")
        vocab_size: Count = Field(8000, description="per side, or for the joint model")
        joint: bool = Field(False, description="one SentencePiece model for both languages")
        character_coverage: Annotated[float, Field(gt=0, le=1)] = Field(1.0, description=(
            "share of characters SentencePiece covers (1.0 for languages with small alphabets)"))
        input_sentence_size: Count = Field(1_000_000, description="sentences sampled for SentencePiece training")
        # Subword regularization (Kudo 2018), unigram models: each training batch draws a segmentation of
        # every sentence from its sampling_nbest best, with probability ~ P(segmentation) ** sampling_alpha
        # (smaller: flatter). null: always the best one. Translation itself never samples.
        sampling_alpha: float | None = Field(None, gt=0, description=(
            "subword regularization in training: each batch's segmentations drawn with probability ~ P ** alpha; "
            "null: the best segmentation"))
        sampling_nbest: int = Field(16, ge=2, description=(
            "with sampling_alpha: draw among this many best segmentations"))

    DecodeConfig = DecodeConfig  # the recipe's decode section
    pipelines = ("translation",)

    class EvaluateOptions(Section):
        beam: int | None = Field(None, ge=1, le=MAX_BEAM, description=(
            "beam size (1 = greedy); default: the recipe's decode.beam"))

    class AnswerOptions(Section):
        beam: int | None = Field(None, ge=1, le=MAX_BEAM, description="beam size; 1 is greedy; default: the model's")
        n_best: int = Field(1, ge=1, le=MAX_BEAM, description="return the K best translations of each text")
        attention: bool = Field(False, description="the attention weights of each translation, piece by piece")
        shortlist: int | None = Field(None, ge=0, le=100, description=(
            "score only the K likeliest target pieces of each source piece and the frequent ones (a vocabulary "
            "shortlist; faster); 0: the whole vocabulary; default: the recipe's decode.shortlist_size"))

        @model_validator(mode="after")
        def _n_best_within_beam(self) -> "TranslationTask.AnswerOptions":
            if self.beam is not None and self.n_best > self.beam:
                raise ValueError(f"n_best {self.n_best} is larger than the beam {self.beam}")
            return self

    Answer = TranslationAnswer
    verb, verb_help = "translate", "translate sentences (arguments, --input FILE, or lines on stdin)"

    def __init__(self, recipe, run) -> None:
        super().__init__(recipe, run)
        self.src_sp: SentencePieceTokenizer | None = None
        self.tgt_sp: SentencePieceTokenizer | None = None
        self.decode_cfg = recipe.decode
        self._lexical: LexicalTable | None = None

    # -- data ----------------------------------------------------------------------------------
    def _pair_paths(self, ref: str) -> tuple[Path, Path]:
        """Source and target files of ``corpus:split`` or of a path prefix (``PREFIX.de[.gz]``)."""
        d = self.recipe.data
        name, sep, split = ref.partition(":")
        if sep and name in CORPORA:
            return corpus_file(name, split, d.src), corpus_file(name, split, d.tgt)
        for suffix in ("", ".gz"):
            src, tgt = Path(f"{ref}.{d.src}{suffix}"), Path(f"{ref}.{d.tgt}{suffix}")
            if src.exists() and tgt.exists():
                return src, tgt
        raise DataError(f"{ref}: expected corpus:split (such as multi30k:val) or a path prefix with files "
                        f"{ref}.{d.src} and {ref}.{d.tgt} (optionally .gz)")

    def read_pairs(self, ref: str) -> ParallelSet:
        ref, half = split_half_ref(ref)
        src, tgt = self._pair_paths(ref)
        pairs = take_half(read_parallel(src, tgt), half)
        where = f"{src} -> {tgt}" + (f" @{half}" if half else "")
        return ParallelSet([s for s, _ in pairs], [t for _, t in pairs], where)

    def tokenizer_paths(self) -> tuple[Path, Path]:
        """The run's source and target SentencePiece models (one file twice for a joint vocabulary)."""
        folder = self.run / TOKENIZER
        if self.recipe.text.joint:
            return folder / "joint.model", folder / "joint.model"
        return folder / f"{self.recipe.data.src}.model", folder / f"{self.recipe.data.tgt}.model"

    def prepare(self) -> tuple[TrainData, ParallelSet]:
        d, t = self.recipe.data, self.recipe.text
        train_src, train_tgt = self._pair_paths(d.train)
        dev = self.read_pairs(d.dev)

        def side(k: int) -> Iterator[str]:  # streamed: SentencePiece samples input_sentence_size of them
            return (pair[k] for pair in iter_parallel(train_src, train_tgt))
        if t.sampling_alpha is not None and t.model_type != "unigram":
            raise RecipeError("text.sampling_alpha draws among a unigram model's best segmentations; "
                              f"text.model_type is '{t.model_type}'")
        sp_args = dict(vocab_size=t.vocab_size, model_type=t.model_type, character_coverage=t.character_coverage,
                       input_sentence_size=t.input_sentence_size, seed=self.recipe.seed)
        src_path, tgt_path = self.tokenizer_paths()
        if not self.writes_run:
            self.load_text()  # rank 0 trained the SentencePiece models: every rank must use those pieces
        elif t.joint:
            self.src_sp = self.tgt_sp = SentencePieceTokenizer.train(itertools.chain(side(0), side(1)), **sp_args)
            self.src_sp.save(src_path)
        else:
            self.src_sp = SentencePieceTokenizer.train(side(0), **sp_args)
            self.tgt_sp = SentencePieceTokenizer.train(side(1), **sp_args)
            self.src_sp.save(src_path)
            self.tgt_sp.save(tgt_path)
        src_vocab, tgt_vocab = self.src_sp.vocab(), self.tgt_sp.vocab()
        src_sp, tgt_sp, max_len = self.src_sp, self.tgt_sp, d.max_train_len
        alpha, nbest, seed = t.sampling_alpha, t.sampling_nbest, self.recipe.seed
        with_text = alpha is not None

        def encode(batch: dict[str, list]) -> dict[str, list]:
            src = [src_vocab.encode(src_sp.tokenize(s)) for s in batch["src"]]
            tgt = [tgt_vocab.encode(tgt_sp.tokenize(s)) for s in batch["tgt"]]
            out = {"src": src, "tgt": tgt, "length": pair_lengths(src, tgt)}
            if with_text:
                out.update(src_text=batch["src"], tgt_text=batch["tgt"])
            return out

        key = fingerprint("translation", [file_digest(p) for p in (train_src, train_tgt)], d.model_dump(),
                          fingerprint(src_sp.model_proto.hex()), fingerprint(tgt_sp.model_proto.hex()), "int32",
                          *(["text"] if with_text else []))

        def rows() -> Iterator[dict[str, str]]:
            return ({"src": s, "tgt": t} for s, t in iter_parallel(train_src, train_tgt))

        ds = encode_cached(rows, encode, key, _pair_features(with_text))
        # Read from the memory-mapped cache a window at a time: no per-pair list or index is held, so
        # memory does not grow with the corpus. Pairs out of range read as length 0 and are not trained on.
        lengths = LengthsInRange(ds.data.column("length"), 2, max_len + 1)
        skipped = lengths.left_out()
        if skipped:
            log.info("skipping %d training pairs longer than %d pieces or empty", skipped, max_len)

        lines = ds.select_columns(["src_text", "tgt_text"]) if with_text else None

        def make_batch(idx: list[int]) -> dict:
            if lines is None:
                rows = ds[idx]
                return self.collate(rows["src"], rows["tgt"])
            # Buckets keep the best segmentation's lengths (a drawn one is a little longer). Drawn from
            # the batch itself, so a resumed run draws what the uninterrupted one would have.
            rows = lines[idx]
            rng = random.Random(zlib.crc32(repr((seed, idx)).encode()))
            chosen = list(zip(rows["src_text"], rows["tgt_text"]))
            return self.collate([src_sp.sample_ids(a, alpha, rng, nbest) for a, _ in chosen],
                                [tgt_sp.sample_ids(b, alpha, rng, nbest) for _, b in chosen])

        return TrainData(lengths, make_batch), dev

    @staticmethod
    def collate(src: list[list[int]], tgt: list[list[int]] | None = None) -> dict:
        s, s_len = pad_sequences([x or [Vocab.unk_id] for x in src])
        batch = {"src": s, "src_len": s_len}
        if tgt is not None:
            batch["tgt_in"], _ = pad_sequences([[Vocab.bos_id] + y for y in tgt])
            batch["tgt_out"], _ = pad_sequences([y + [Vocab.eos_id] for y in tgt])
        return batch

    def model_args(self) -> dict[str, Any]:
        return {"src_vocab_size": len(self.src_sp.vocab()), "tgt_vocab_size": len(self.tgt_sp.vocab())}

    def info(self) -> dict[str, Any]:
        return {"src": self.recipe.data.src, "tgt": self.recipe.data.tgt}

    def load_text(self) -> None:
        src_path, tgt_path = self.tokenizer_paths()
        self.src_sp = SentencePieceTokenizer.load(src_path)
        self.tgt_sp = self.src_sp if self.recipe.text.joint else SentencePieceTokenizer.load(tgt_path)

    # -- inference -----------------------------------------------------------------------------
    def lexical_table(self) -> LexicalTable:
        """The run's lexical table for vocabulary shortlists: read from the run directory, or learnt from
        (a sample of) the training corpus and saved there."""
        if self._lexical is not None:
            return self._lexical
        path, sizes = self.run / SHORTLIST, (len(self.src_sp.vocab()), len(self.tgt_sp.vocab()))
        if path.exists():
            self._lexical = LexicalTable.load(path, *sizes)
            return self._lexical
        try:
            train_src, train_tgt = self._pair_paths(self.recipe.data.train)
        except DataError as exc:
            raise DataError(f"vocabulary shortlist: {path} is missing and the training corpus to learn it from "
                            f"is not here ({exc})") from None
        src_vocab, tgt_vocab = self.src_sp.vocab(), self.tgt_sp.vocab()
        pairs = reservoir_sample(iter_parallel(train_src, train_tgt), SHORTLIST_PAIRS, self.recipe.seed)
        t0 = time.perf_counter()
        self._lexical = LexicalTable.train(((src_vocab.encode(self.src_sp.tokenize(a)),
                                             tgt_vocab.encode(self.tgt_sp.tokenize(b))) for a, b in pairs), *sizes)
        log.info("learnt a lexical table from %d training pairs in %.1f s", len(pairs), time.perf_counter() - t0)
        try:
            self._lexical.save(path)
        except OSError as exc:  # a read-only run directory: the table is used, and learnt again next time
            log.warning("could not keep the lexical table in %s (%s)", path, exc)
        return self._lexical

    def translate(self, model: torch.nn.Module, sentences: list[str], beam: int | None = None, n_best: int = 1,
                  batch_tokens: int = 6000, keep_attention: bool = False, shortlist: int | None = None
                  ) -> list[list[dict[str, Any]]]:
        """n-best translations of each sentence; an empty sentence gets an empty translation. ``shortlist``:
        target pieces scored per source piece (0: all; None: the recipe's ``decode.shortlist_size``)."""
        cfg = self.decode_cfg
        beam = cfg.beam if beam is None else beam
        shortlist = cfg.shortlist_size if shortlist is None else shortlist
        table = self.lexical_table() if shortlist else None
        if n_best > max(beam, 1):
            raise InputError(f"n-best {n_best} is larger than the beam {beam}")
        vocab_src, vocab_tgt = self.src_sp.vocab(), self.tgt_sp.vocab()
        limit = self.recipe.data.max_src_len
        ids = []
        for i, s in enumerate(sentences):
            x = vocab_src.encode(self.src_sp.tokenize(s)) if s.strip() else []
            if len(x) > limit:
                log.warning("sentence %d has %d pieces; truncated to data.max_src_len=%d", i, len(x), limit)
                x = x[:limit]
            ids.append(x)
        out: list[list[dict[str, Any]]] = [[{"translation": "", "score": 0.0}] for _ in sentences]
        todo = [i for i, x in enumerate(ids) if x]
        device = next(model.parameters()).device
        model.eval()
        for chunk in bucket_by_length([len(ids[i]) for i in todo], batch_tokens // max(beam, 1), 256, shuffle=False):
            rows = [todo[j] for j in chunk]
            batch = self.collate([ids[i] for i in rows])
            src, src_len = batch["src"].to(device), batch["src_len"].to(device)
            vocab = None if table is None else table.shortlist(src, shortlist, cfg.shortlist_frequent)
            if beam <= 1:
                hyps = [[h] for h in greedy_search(model, src, src_len, cfg, keep_attention=keep_attention,
                                                   vocab=vocab)]
            else:  # MBR weighs every ending the search found, not only the n-best returned
                keep = endings_needed(beam, cfg.patience) if cfg.mbr_temperature else n_best
                hyps = beam_search(model, src, src_len, cfg, beam=beam, n_best=keep, keep_attention=keep_attention,
                                   vocab=vocab)
            for i, hs in zip(rows, hyps):
                answers = [self._answer(h, ids[i], vocab_tgt, vocab_src, keep_attention) for h in hs]
                if beam > 1 and cfg.mbr_temperature:
                    ranked = mbr_rank([a["translation"] for a in answers], [a["score"] for a in answers],
                                      cfg.mbr_temperature)
                    answers = [{**answers[j], "expected_chrf": e} for j, e in ranked]
                out[i] = answers[:n_best]
        return out

    def _answer(self, hyp, src_ids, vocab_tgt: Vocab, vocab_src: Vocab, keep_attention: bool) -> dict[str, Any]:
        pieces = vocab_tgt.decode(hyp.tokens)
        ans = {"translation": self.tgt_sp.detokenize(pieces), "score": hyp.score}
        if keep_attention:
            ans["attention"] = {"source": vocab_src.decode(src_ids), "target": pieces + ["</s>"],
                                "weights": hyp.attention}
        return ans

    def read_eval(self, ref: str | None, src: str | None = None, ref_file: str | None = None, **kwargs) -> ParallelSet:
        if src or ref_file:
            if not (src and ref_file):
                raise InputError("--src and --ref go together")
            pairs = read_parallel(resolve_ref(src), resolve_ref(ref_file))
            return ParallelSet([s for s, _ in pairs], [t for _, t in pairs], f"{src} -> {ref_file}")
        return self.read_pairs(ref or self.recipe.data.dev)

    def evaluate(self, model: torch.nn.Module, data: ParallelSet, plot: str | None = None,
                 beam: int | None = None) -> dict[str, Any]:
        """BLEU, chrF and the validation loss; ``beam`` None: the recipe's ``decode.beam``."""
        return self.evaluate_items(model, data, plot, beam)[0]

    def dev_evaluate(self, model: torch.nn.Module, data: ParallelSet) -> dict[str, Any]:
        """The evaluation run during training: at ``decode.dev_beam`` (greedy by default), for speed."""
        return self.evaluate(model, data, beam=self.decode_cfg.dev_beam)

    def evaluate_items(self, model: torch.nn.Module, data: ParallelSet, plot: str | None = None,
                       beam: int | None = None, **options: Any) -> tuple[dict[str, Any], dict[str, ItemStats]]:
        """Metrics and, per sentence, sacrebleu's BLEU and chrF statistics (a sentence is one item)."""
        beam = self.decode_cfg.beam if beam is None else beam
        t0 = time.perf_counter()
        hyps = [h[0]["translation"] for h in self.translate(model, data.sources, beam=beam)]
        seconds = time.perf_counter() - t0
        metrics = {**bleu_chrf(hyps, data.references), "loss": self.loss(model, data), "count": len(hyps),
                   "beam": beam, "sentences_per_s": len(hyps) / max(seconds, 1e-9)}
        items = {kind: ItemStats.sacrebleu(kind, hyps, data.references) for kind in ("bleu", "chrf")}
        return metrics, items

    def loss(self, model: torch.nn.Module, data: ParallelSet, batch_tokens: int = 6000) -> float:
        """The training objective on ``data`` (teacher-forced, per target piece): the validation loss curve."""
        src_vocab, tgt_vocab = self.src_sp.vocab(), self.tgt_sp.vocab()
        src = [src_vocab.encode(self.src_sp.tokenize(s))[: self.recipe.data.max_src_len] for s in data.sources]
        tgt = [tgt_vocab.encode(self.tgt_sp.tokenize(t)) for t in data.references]
        lengths = pair_lengths(src, tgt)
        batches = (self.collate([src[i] for i in idx], [tgt[i] for i in idx])
                   for idx in bucket_by_length(lengths, batch_tokens, 512, shuffle=False))
        return mean_loss(model, batches)[0]

    def answer(self, model: torch.nn.Module, inputs: Any, beam: int | None = None, n_best: int = 1,
               attention: bool = False, shortlist: int | None = None) -> list[dict[str, Any]]:
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise InputError("expected a string or a list of strings")
        results = self.translate(model, list(texts), beam=beam, n_best=n_best, keep_attention=attention,
                                 shortlist=shortlist)
        if n_best == 1:
            return [r[0] for r in results]
        return [{**r[0], "n_best": r} for r in results]

    def show(self, answer: dict[str, Any]) -> str:
        if "n_best" in answer or "attention" in answer:
            return super().show(answer)
        return answer["translation"]


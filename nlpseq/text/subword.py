"""SentencePiece subwords (unigram or BPE), trained into and loaded from a run directory."""

from __future__ import annotations

import io
import math
import os
import random
from pathlib import Path
from typing import Any, Iterable

from ..errors import DataError, RecipeError
from ..fileio import atomic_path
from .vocab import BOS, EOS, PAD, UNK, Vocab


def reservoir_sample(items: Iterable[str], k: int, seed: int) -> list[str]:
    """``k`` items drawn uniformly from a stream of any length in one pass (Algorithm R), in memory
    for ``k`` only; a stream of at most ``k`` items comes back whole and in order."""
    rng = random.Random(seed)
    sample: list[str] = []
    for i, item in enumerate(items):
        if i < k:
            sample.append(item)
        else:
            j = rng.randrange(i + 1)
            if j < k:
                sample[j] = item
    return sample


class SentencePieceTokenizer:
    """A trained SentencePiece model behind the :class:`~nlpseq.text.Tokenizer` protocol.

    Piece ids 0-3 are ``<pad> <unk> <s> </s>``, the same as :class:`Vocab`, so
    :meth:`vocab` gives a vocabulary whose ids are the model's own.
    """

    name = "sentencepiece"

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(model_proto)
        except Exception as exc:  # sentencepiece raises plain RuntimeError/OSError
            raise DataError(f"not a SentencePiece model ({exc})") from None
        self.model_proto = model_proto

    @classmethod
    def train(
        cls,
        sentences: Iterable[str],
        vocab_size: int = 8000,
        model_type: str = "unigram",
        character_coverage: float = 1.0,
        input_sentence_size: int = 1_000_000,
        seed: int = 0,
    ) -> "SentencePieceTokenizer":
        """Train on ``sentences``; only ``input_sentence_size`` randomly sampled ones are used.

        Raises:
            RecipeError: ``model_type`` is not ``unigram`` or ``bpe``.
        """
        import sentencepiece as spm

        if model_type not in ("unigram", "bpe"):
            raise RecipeError(f"text.model_type: '{model_type}' is not one of 'unigram', 'bpe'")
        buf = io.BytesIO()
        spm.set_random_generator_seed(seed)  # sampling and shuffling repeat for the same seed
        # Sampled here: given an iterator, SentencePiece keeps every sentence in memory (about 1.5 KB
        # each) before it samples, so a corpus larger than memory could not train its tokenizer.
        sample = reservoir_sample((s for s in sentences if s.strip()), input_sentence_size, seed)
        try:
            cls._train(spm, sample, buf, vocab_size, model_type, character_coverage, input_sentence_size)
        except RuntimeError as exc:  # SentencePiece's checks raise RuntimeError("INTERNAL: file(line) [check]")
            raise RecipeError(f"text.vocab_size {vocab_size}: SentencePiece could not train on this corpus "
                              f"({str(exc).strip().splitlines()[0][:160]}); a vocabulary holds its 4 special "
                              "pieces and the corpus's characters, so try a larger one") from None
        return cls(buf.getvalue())

    @staticmethod
    def _train(spm: Any, sample: list[str], buf: io.BytesIO, vocab_size: int, model_type: str,
               character_coverage: float, input_sentence_size: int) -> None:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sample),
            model_writer=buf,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            input_sentence_size=input_sentence_size,
            shuffle_input_sentence=True,
            seed_sentencepiece_size=min(1_000_000, 20 * input_sentence_size),
            pad_id=0, unk_id=1, bos_id=2, eos_id=3,
            pad_piece=PAD, unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
            hard_vocab_limit=False,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SentencePieceTokenizer":
        """Load a model written by :meth:`save`."""
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no such SentencePiece model")
        return cls(p.read_bytes())

    def save(self, path: str | os.PathLike) -> None:
        """Write the serialized model atomically."""
        with atomic_path(path) as tmp:
            tmp.write_bytes(self.model_proto)

    def vocab(self) -> Vocab:
        """The model's pieces as a :class:`Vocab` with identical ids."""
        return Vocab([self._sp.IdToPiece(i) for i in range(self._sp.GetPieceSize())])

    def tokenize(self, text: str) -> list[str]:
        return self._sp.EncodeAsPieces(text)

    def sample_ids(self, text: str, alpha: float, rng: random.Random, nbest: int = 16) -> list[int]:
        """One segmentation of ``text`` drawn from its ``nbest`` most likely ones with probability
        proportional to P(segmentation) ** ``alpha`` (subword regularization, Kudo 2018); ids are the
        model's own, equal to :meth:`vocab`'s. Unigram models only.

        The draw comes from ``rng``, not SentencePiece's own sampler, whose generator cannot be seeded
        per call, so a seeded run draws the same segmentations every time.
        """
        options = self._sp.nbest_encode_as_proto(text, nbest_size=nbest).nbests
        if len(options) < 2:
            return [p.id for p in options[0].pieces] if options else []
        top = options[0].score
        pick = rng.choices(options, weights=[math.exp(alpha * (o.score - top)) for o in options])[0]
        return [p.id for p in pick.pieces]

    def detokenize(self, tokens: list[str]) -> str:
        return self._sp.DecodePieces(list(tokens))

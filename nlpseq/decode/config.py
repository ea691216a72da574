"""How a translator decodes: the recipe's ``decode`` section, handed to the searches as one object."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..bounds import MAX_BEAM
from ..config import Natural, NonNegative, Section


class DecodeConfig(Section):
    """Beam size, length and coverage penalties, patience, MBR and length limits (``decode`` in a recipe)."""

    beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = 5
    alpha: NonNegative = 0.6  # GNMT length penalty: higher favours longer output
    beta: float = Field(0.0, ge=0)  # GNMT coverage penalty on ended hypotheses: higher penalises unattended source
    patience: float = Field(1.0, ge=1)  # a sentence's search ends after patience * beam endings (1: fairseq's rule)
    # Minimum Bayes risk: among the beam's endings, output the one with the highest chrF against the
    # others, weighted by softmax(score / mbr_temperature). null: the best-scored ending.
    mbr_temperature: float | None = Field(None, gt=0)
    max_len_a: NonNegative = 1.5  # output at most a * source length + b pieces
    max_len_b: Natural = 10
    dev_beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = 1  # beam used for dev BLEU during training (greedy is fast)
    # Matrix products at inference (translate, evaluate, serve): fp32, int8 with per-channel weight scales
    # (torch's dynamic quantization), or bf16 (CPUs with AVX512-BF16 or AMX); training and dev evaluation
    # stay fp32.
    precision: Literal["fp32", "int8", "bf16"] = "fp32"
    # Vocabulary shortlist (Marian's lexical shortlists): each batch scores only the shortlist_size likeliest
    # target pieces of each of its source pieces (IBM Model 1 over the training corpus, built on first use
    # and kept in the run directory as shortlist.safetensors), the shortlist_frequent commonest target
    # pieces and the special symbols. 0: the whole vocabulary.
    shortlist_size: int = Field(0, ge=0, le=100)
    shortlist_frequent: int = Field(100, ge=0)

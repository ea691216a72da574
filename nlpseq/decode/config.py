"""How a translator decodes: the recipe's ``decode`` section, handed to the searches as one object."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..bounds import MAX_BEAM
from ..config import Natural, NonNegative, Section


class DecodeConfig(Section):
    """Beam size, length and coverage penalties, patience, MBR and length limits (``decode`` in a recipe)."""

    beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = Field(5, description=(
        "beam size for translate, evaluate and serve (1: greedy search)"))
    alpha: NonNegative = Field(0.6, description="GNMT length penalty: higher favours longer output")
    beta: float = Field(0.0, ge=0, description=(
        "GNMT coverage penalty on ended hypotheses: higher penalises unattended source"))
    patience: float = Field(1.0, ge=1, description=(
        "a sentence's search ends after patience * beam endings (1: fairseq's rule)"))
    # Minimum Bayes risk: among the beam's endings, output the one with the highest chrF against the
    # others, weighted by softmax(score / mbr_temperature). null: the best-scored ending.
    mbr_temperature: float | None = Field(None, gt=0, description=(
        "minimum Bayes risk: output the ending with the best expected chrF against the others, weighted by "
        "softmax(score / this); null: the best-scored ending"))
    max_len_a: NonNegative = Field(1.5, description="output at most a * source length + b pieces")
    max_len_b: Natural = Field(10, description="the b of max_len_a: pieces allowed beyond a * source length")
    dev_beam: Annotated[int, Field(ge=1, le=MAX_BEAM)] = Field(1, description=(
        "beam used for dev BLEU during training (greedy is fast)"))
    # Matrix products at inference (translate, evaluate, serve): fp32, int8 with per-channel weight scales
    # (torch's dynamic quantization), or bf16 (CPUs with AVX512-BF16 or AMX); training and dev evaluation
    # stay fp32.
    precision: Literal["fp32", "int8", "bf16"] = Field("fp32", description=(
        "matrix products at inference (training stays fp32): fp32, int8 (dynamic quantization) or bf16 (CPUs with "
        "AVX512-BF16 or AMX)"))
    # Vocabulary shortlist (Marian's lexical shortlists): each batch scores only the shortlist_size likeliest
    # target pieces of each of its source pieces (IBM Model 1 over the training corpus, built on first use
    # and kept in the run directory as shortlist.safetensors), the shortlist_frequent commonest target
    # pieces and the special symbols. 0: the whole vocabulary.
    shortlist_size: int = Field(0, ge=0, le=100, description=(
        "score only each source piece's this many likeliest target pieces (IBM Model 1, kept in the run); 0: the "
        "whole vocabulary"))
    shortlist_frequent: int = Field(100, ge=0, description=(
        "with a shortlist: also score this many of the commonest target pieces"))

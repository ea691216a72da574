"""Greedy and beam search, batched over sentences and beams; minimum Bayes risk choice among the endings."""

from .config import DecodeConfig
from .mbr import mbr_rank
from .search import Hypothesis, beam_search, endings_needed, greedy_search

__all__ = ["DecodeConfig", "Hypothesis", "beam_search", "endings_needed", "greedy_search", "mbr_rank"]

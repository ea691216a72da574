"""Greedy and beam search, batched over sentences and beams."""

from .search import Hypothesis, beam_search, greedy_search

__all__ = ["Hypothesis", "beam_search", "greedy_search"]

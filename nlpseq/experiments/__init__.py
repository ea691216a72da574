"""Experiments with statistics: every configuration x seed trained, scored per item, compared (``nlpseq compare``)."""

from .plan import Configuration, parse_seeds, plan_configurations
from .report import selection_effect, summarize, write_report
from .runner import run_experiment

__all__ = ["Configuration", "parse_seeds", "plan_configurations", "run_experiment", "selection_effect", "summarize",
           "write_report"]

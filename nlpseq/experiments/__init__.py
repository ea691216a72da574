"""Experiments with statistics: every configuration x seed trained, scored per item, compared (``nlpseq compare``)."""

from .plan import Configuration, load_configurations, parse_seeds, plan_configurations
from .report import selection_effect, summarize, write_report
from .runner import run_experiment

__all__ = ["Configuration", "load_configurations", "parse_seeds", "plan_configurations", "run_experiment", "selection_effect", "summarize",
           "write_report"]

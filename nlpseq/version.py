"""The package version, in a module of its own so that any module can read it without importing the package's API."""

__version__ = "0.1.0"

# The layout of run folders this nlpseq writes and reads (run.json's "run_format"). 2: weights may be
# stored as fp16 or int8 with row scales (nlpseq.compact). A folder of a newer format is refused.
RUN_FORMAT = 2

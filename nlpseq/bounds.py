"""Ceilings on what one command or request may ask, kept apart so the command line reads them without
importing the code that enforces them."""

# A beam wider than this finds nothing a narrower one misses, at a cost that grows with its width.
MAX_BEAM = 100
# Beyond this a percentile interval moves by less than its rounding, while memory and time keep growing.
MAX_RESAMPLES = 100_000

"""The shared neural layers: embeddings and recurrent encoders used by every model family."""

from .embedding import SubwordOptions, TokenEmbedding, load_word_vectors
from .recurrent import RecurrentEncoder

__all__ = ["TokenEmbedding", "SubwordOptions", "load_word_vectors", "RecurrentEncoder"]

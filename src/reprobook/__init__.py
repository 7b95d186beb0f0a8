"""reprobook: the machinery behind the book's notebooks (data, models, training, claims, runs)."""

__version__ = "0.1.0"

"""studio: a Jupyter-native studio that turns a song and a brief into a finished music video."""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""nnviz: watch a neural network learn handwritten digits (Nielsen, NNDL chapter 1)."""

__version__ = "0.1.0"

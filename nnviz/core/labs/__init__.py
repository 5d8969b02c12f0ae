"""Qt-free models of chapter 1's labs, in the book's words and notation.

- :mod:`~nnviz.core.labs.neuron`: a perceptron / sigmoid neuron, the NAND, AND and OR
  presets with their truth tables, the book's adder of NAND perceptrons, and "a small
  change in a weight causes only a small change in the output" (eq. 5).
- :mod:`~nnviz.core.labs.descent`: toy cost functions C(v1, v2) (a bowl, an elongated
  valley) with their gradients, and gradient-descent steps Δv = −η∇C (eq. 10).
- :mod:`~nnviz.core.labs.surface`: the real network's cost on a 2-D plane through weight
  space (PCA of the recorded training trajectory, or two random per-neuron-scaled
  directions), evaluated on a grid, with the trajectory projected onto it.
"""

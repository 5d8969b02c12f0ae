"""The Qt desktop app (PySide6 + pyqtgraph). Thin: it drives ``nnviz.core`` and draws
what it yields. Nothing in ``nnviz.core`` imports this package."""

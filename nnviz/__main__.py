"""``python -m nnviz`` runs the command line (the app by default)."""

from nnviz.cli import main

raise SystemExit(main())

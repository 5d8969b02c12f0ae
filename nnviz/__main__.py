"""``python -m nnviz`` runs the command line (the app by default)."""

try:
    from nnviz.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing nnviz
    import sys

    print("nnviz: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())

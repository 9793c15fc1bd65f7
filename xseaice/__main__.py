"""``python -m xseaice`` runs the command-line interface."""

from xseaice.cli import main

raise SystemExit(main())

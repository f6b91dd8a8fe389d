"""``python -m talentmarket`` runs the command line."""

from talentmarket.cli import main

main()

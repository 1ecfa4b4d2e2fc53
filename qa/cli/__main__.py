"""``python -m qa.cli`` runs the ``qa`` command (as the installed script does)."""

from qa.cli import main

main()

"""``python -m qa.cli`` runs the ``qa`` command (as the installed script does)."""

from qa.cli import main

if __name__ == "__main__":  # a spawned worker process imports this module again: it must not run the command
    main()

"""``python -m vipml`` runs the command line."""

from vipml.cli import main

if __name__ == "__main__":
    main()

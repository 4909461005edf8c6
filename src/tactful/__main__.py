"""``python -m tactful``: the ``tactful`` command line where the script is not on PATH."""

from tactful.cli import main

if __name__ == "__main__":
    main()

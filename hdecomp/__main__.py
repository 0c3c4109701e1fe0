"""`python -m hdecomp` runs the command line."""

from hdecomp.cli import main

if __name__ == "__main__":
    main()

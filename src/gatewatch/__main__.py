"""`python -m gatewatch` runs the CLI."""

from gatewatch.cli.main import main

if __name__ == "__main__":
    main()

"""`python -m vui.cli` runs the command line."""
from vui.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())

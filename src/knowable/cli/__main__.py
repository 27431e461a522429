"""Allow ``python -m knowable.cli``."""

from ._app import main

if __name__ == "__main__":
    main()

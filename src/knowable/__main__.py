"""Allow ``python -m knowable`` (the same as the ``knowable`` command)."""

from knowable.cli import main

if __name__ == "__main__":
    main()

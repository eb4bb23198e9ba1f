"""``python -m diapason``: the same as the ``diapason`` command."""

from diapason.cli import main

main()

"""`python -m tiket` runs the CLI."""

from tiket.cli import main

main()

"""`python -m scanner` runs the sovscan CLI."""

from scanner.cli import main

main()

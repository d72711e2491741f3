"""The command line (`outcomes ...`): `app` is the Typer application the `outcomes` script runs."""

from outcomes.cli.app import app, main

__all__ = ["app", "main"]

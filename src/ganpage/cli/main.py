"""The ``ganpage`` command: the root app, built from one module per area in a fixed order, and
``main()``, the console script. Each area parses options, calls the library, prints results.

Errors the user can fix (``GanpageError``, a bad option value, an output that cannot be written)
are printed as one line, without a traceback, with exit code 2.
"""

from __future__ import annotations

import errno
import sqlite3
import sys

import typer

from ganpage.cli import (
    build_site,
    curate,
    data,
    export_onnx,
    gallery,
    generate,
    label,
    models,
    naming_test,
    run_pack,
    serve,
    train,
)
from ganpage.errors import GanpageError
from ganpage.process_exit import exit_now

app = typer.Typer(
    help="Make \"This X Does Not Exist\" websites from class-conditional GANs.\n\n"
         "Quick start: [bold]ganpage demo[/bold] builds a small gallery with the built-in model "
         "and serves it.\n\n"
         "Your own site: ganpage generate my-gallery --model emoji64 --per-category 8, "
         "then ganpage serve my-gallery --show pending",
    rich_markup_mode="rich",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# (area, group name): commands of an unnamed area sit at the top level. --help lists them in
# this order, whatever was imported first (tests/test_cli.py)
AREAS = ((generate, None), (models, None), (train, None), (build_site, None), (curate, None),
         (export_onnx, None), (label, None), (naming_test, None), (serve, None), (data, "data"),
         (gallery, "gallery"), (run_pack, "run"))
for area, name in AREAS:
    app.add_typer(area.app, name=name)

# Usage errors (a bad option value, a missing argument) derive from click's ClickException, which
# typer exports only through subclasses; since 0.26 typer carries its own copy of click.
USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
# errno values that mean "this machine will not let you write there": the user's to fix
UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# SQLite's own words for the same (its writes fail inside the library, not as an OSError)
INDEX_UNWRITABLE = ("database or disk is full", "disk I/O error", "attempt to write a readonly")


def main() -> None:
    """Entry point of the console script: run the app, turning known errors into one line."""
    try:
        code = app(standalone_mode=False)
    except GanpageError as error:
        fail(str(error))
    except USAGE_ERROR as error:
        message = " ".join(error.format_message().split())
        if not message:  # no_args_is_help: the help is the answer
            error.show()
            sys.exit(error.exit_code)
        fail(message, error.exit_code)
    except OSError as error:
        if error.errno not in UNWRITABLE:
            raise
        fail(f"{error.filename or 'an output'}: {error.strerror}; free some space or choose a "
             "path you can write to")
    except sqlite3.OperationalError as error:
        if not str(error).startswith(INDEX_UNWRITABLE):
            raise
        fail(f"the gallery index could not be written ({error}); free some space or make it "
             "writable, then run the same command again: it continues where it stopped")
    except KeyboardInterrupt:
        typer.echo("interrupted; re-run the same command to continue where it stopped", err=True)
        sys.exit(130)
    except typer.Abort:
        sys.exit(1)
    exit_now(code if isinstance(code, int) else 0)  # typer.Exit(n) arrives as a return value


def fail(message: str, code: int = 2) -> None:
    """Print one ``error:`` line and exit."""
    typer.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)

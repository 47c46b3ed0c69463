"""Apply the Piccolo migrations in migrations/ (used by `portal migrate` and `portal serve`)."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.forwards import run_forwards

from portal.settings import SettingsError


async def apply_migrations(verbose: bool = False) -> str:
    # Piccolo prints a line per migration: shown with --verbose, kept quiet otherwise.
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        result = await run_forwards(app_name="portal", migration_id="all", fake=False)
    if not result.success:
        raise SettingsError(f"Migrations failed: {result.message}")
    return result.message

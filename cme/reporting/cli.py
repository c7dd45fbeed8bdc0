"""`flask cme report ...`: the accreditation exports from the command line (issue 16)."""
from __future__ import annotations

import click


@click.group("report")
def report_cli() -> None:
    """Accreditation exports: PARS, CPE Monitor, CE Broker."""


# ---------------------------------------------------------------- PARS activity data (i16activity)

from flask import current_app  # noqa: E402
from flask.cli import with_appcontext  # noqa: E402

from cme.reporting import pars_activities  # noqa: E402


@report_cli.command("pars-activities")
@click.option("--year", type=click.IntRange(pars_activities.FIRST_YEAR, pars_activities.LAST_YEAR), required=True,
              help="Activities that ended in this year (in their own time zone).")
@click.option("--format", "fmt", type=click.Choice(sorted(pars_activities.FORMATS)), default="tab", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
@with_appcontext
def pars_activities_command(year: int, fmt: str, output: str | None) -> None:
    """PARS activity data for YEAR: every published activity, tab-delimited (or CSV, JSON)."""
    body = pars_activities.export(year, fmt, default_provider_id=current_app.config.get("CME_ACCME_PROVIDER_ID"))
    if output is None:
        click.echo(body.decode("utf-8"), nl=False)
        return
    with open(output, "wb") as file:
        file.write(body)
    click.echo(f"Wrote PARS activity data for {year} to {output}.", err=True)

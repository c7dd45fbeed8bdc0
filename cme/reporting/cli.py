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
# ---------------------------------------------------------------- i16exports: learner completions and deadlines

def _learner_export(name: str, kind_value: str, formats: tuple[str, ...]) -> None:
    """Register `flask cme report NAME`: one learner-completion export, per activity or date range."""
    from flask.cli import with_appcontext

    @report_cli.command(name, help=f"Learner completions ({kind_value}) of one activity or of completion dates, "
                                   "new or changed since the last batch; --mark records them as sent.")
    @click.option("--activity", "activity_id", type=int, help="One activity's completions.")
    @click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First completion date (YYYY-MM-DD).")
    @click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last completion date, inclusive.")
    @click.option("--format", "fmt", type=click.Choice(formats), default=formats[0], show_default=True)
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
    @click.option("--mark", is_flag=True, help="Also record the lines as sent (a batch): the next export leaves them out.")
    @with_appcontext
    def command(activity_id, start, end, fmt, output, mark) -> None:
        from sqlalchemy import select

        from cme.activities.models import Activity
        from cme.errors import DomainError
        from cme.extensions import db
        from cme.reporting import service
        from cme.reporting.batches import mark_as_sent
        from cme.reporting.models import ReportKind
        from cme.reporting.records import activity_scope, range_scope

        kind = ReportKind(kind_value)
        if (activity_id is None) == (start is None and end is None) or (start is None) != (end is None):
            raise click.UsageError("Give --activity ID, or both --from and --to.")
        if activity_id is not None:
            activity = db.session.get(Activity, activity_id)
            if activity is None:
                raise click.ClickException(f"No activity has id {activity_id}.")
            scope = activity_scope(activity)
        else:
            scope = range_scope(select(Activity.id), start.date(), end.date())
        if mark:  # the file is then the batch as recorded, line for line
            try:
                batch = mark_as_sent(kind, scope, provider=service.provider_name(), by_id=None)
            except DomainError as error:
                db.session.rollback()
                raise click.ClickException(error.message) from None
            db.session.commit()
            click.echo(f"Batch {batch.id}: {batch.adds} add(s), {batch.deletes} delete(s) marked as sent.",
                       err=True)
            body = service.render_batch(batch, fmt)
        else:
            body = service.render(kind, fmt, service.export_lines(kind, scope))
        stream = click.open_file(output or "-", "wb")
        with stream:
            if hasattr(body, "read"):
                stream.write(body.read())
                body.close()
            else:
                for chunk in body:
                    stream.write(chunk)


_learner_export("pars-learners", "pars", ("tab", "json"))
_learner_export("cpe-monitor", "cpe_monitor", ("csv",))
_learner_export("ce-broker", "ce_broker", ("xlsx",))


def _deadline_command() -> None:
    from flask.cli import with_appcontext

    @report_cli.command("send-deadline-mail")
    @with_appcontext
    def send_deadline_mail_command() -> None:
        """Queue this week's mail of reporting deadlines to each organizer with completions to report (the mail
        worker's loop does it too; never twice in one week)."""
        from cme.extensions import db
        from cme.reporting.deadlines import send_deadline_mails

        queued = send_deadline_mails()
        db.session.commit()
        click.echo(f"Queued {queued} deadline mail(s).")


_deadline_command()


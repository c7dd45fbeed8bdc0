"""The organizer's material forms: upload (file required) and edit (a new file optional)."""
from __future__ import annotations

from datetime import datetime

from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, StringField
from wtforms.validators import Length, Optional, ValidationError

from cme.activities.models import Activity
from cme.formtools import Form, SelectField, select_choices, strip
from cme.library.materials.checks import megabytes
from cme.library.materials.models import Release
from cme.library.materials.service import Details
from cme.timeutil import AmbiguousLocalTime, NonExistentLocalTime, format_local, local_to_utc

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
EMBARGO_YEARS = (2000, 2999)
RELEASE_CHOICES = [
    (Release.PUBLIC.value, "Everyone (public)"),
    (Release.REGISTRANTS.value, "Registrants"),
    (Release.REGISTRANTS_AFTER_SESSION.value, "Registrants, after the session ends"),
    (Release.ORGANIZERS.value, "Organizers only"),
]
ACCEPTED = ".pdf,.pptx,application/pdf,application/vnd.openxmlformats-officedocument.presentationml.presentation"


class MaterialForm(Form):
    file = FileField("File (PDF or PowerPoint .pptx)", validators=[FileRequired("Choose the file to upload.")],
                     render_kw={"accept": ACCEPTED})
    title = StringField("Title", validators=[Optional(), Length(max=300)], filters=[strip],
                        description="Left blank, the file's name is used.")
    session_id = SelectField("Session", validators=[Optional()], default="")
    speaker_id = SelectField("Speaker", validators=[Optional()], default="",
                             description="Chosen from the faculty. Left blank for a session with one speaker, that "
                                         "speaker is named.")
    release = SelectField("Who may open it", choices=select_choices(RELEASE_CHOICES),
                          default=Release.REGISTRANTS_AFTER_SESSION.value,
                          description="For a file of the whole activity, \"after the session ends\" means after the "
                                      "activity ends. Organizers can always open it.")
    embargo_local = DateTimeLocalField("Embargo until (optional)", format=LOCAL_FORMAT, validators=[Optional()])

    def __init__(self, *args, activity: Activity, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = activity.time_zone
        self.file.description = f"Checked by its content, not its name. At most {megabytes(max_bytes)}."
        self.file.render_kw = {**self.file.render_kw, "data-max-bytes": str(max_bytes)}
        self.embargo_local.description = (f"Local time ({activity.time_zone}). Until then nobody but the organizers "
                                          "can open the file or see its title.")
        self.session_id.choices = select_choices([("", "The whole activity")] + [
            (str(s.id), f"{format_local(s.start_dt, activity.time_zone, '%a %b %-d, %-I:%M %p')} · {s.title}")
            for s in activity.sessions])
        self.speaker_id.choices = select_choices([("", "Not named")] + [
            (str(p.id), p.byline if p.role == "faculty" else f"{p.byline} ({p.role_label.lower()})")
            for p in activity.faculty])
        self.embargo_utc: datetime | None = None

    def validate_embargo_local(self, field) -> None:
        if field.data is None:
            return
        if not EMBARGO_YEARS[0] <= field.data.year <= EMBARGO_YEARS[1]:
            raise ValidationError(f"Choose a date between {EMBARGO_YEARS[0]} and {EMBARGO_YEARS[1]}.")
        try:
            self.embargo_utc = local_to_utc(field.data, self.zone_name)
        except NonExistentLocalTime as error:
            raise ValidationError(f"{error}. Choose a time outside the skipped hour.") from None
        except AmbiguousLocalTime:  # the repeated hour: the later one, so an embargo never lifts early
            self.embargo_utc = local_to_utc(field.data, self.zone_name, fold=1)

    def details(self) -> Details:
        return Details(title=self.title.data or "", session_id=int(self.session_id.data) if self.session_id.data else None,
                       speaker_id=int(self.speaker_id.data) if self.speaker_id.data else None,
                       release=self.release.data, embargo_until_dt=self.embargo_utc)


class EditMaterialForm(MaterialForm):
    file = FileField("Replace the file (optional)", render_kw={"accept": ACCEPTED})

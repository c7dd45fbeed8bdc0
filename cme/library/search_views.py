"""Search of the library (`/library/search`, issue 15, point 9): abstracts, news, slides and highlights together,
ranked, with snippets, filters and pages. A GET: it reads the index and writes nothing."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from cme.formtools import id_arg, page_arg
from cme.library import search
from cme.library.search_forms import SearchForm

bp = Blueprint("search", __name__)


@bp.get("/library/search")
def index():
    # The activity filter offers the newest activities (of the year chosen), and the one chosen.
    years = search.years_in_index()
    year_arg = id_arg("year")
    activities = search.activities_in_index(year=year_arg if year_arg in years else None, chosen=id_arg("activity"))
    form = SearchForm(request.args, activities=activities, years=years)
    form.validate()
    valid = lambda f: f.data if not f.errors else None  # noqa: E731  (bad values are ignored, and shown as errors)
    activity, year = valid(form.activity), valid(form.year)
    filters = search.SearchFilters(kind=valid(form.type) or "", topic=valid(form.topic) or "",
                                   activity_id=int(activity) if activity else None,
                                   speaker=valid(form.speaker) or "", year=int(year) if year else None)
    text = form.q.data or ""
    viewer = current_user if current_user.is_authenticated else None
    page = search.search(text, filters, viewer=viewer, page=page_arg())
    args = dict(filters.args(), **({"q": text} if text else {}))
    return render_template("library/search/index.html", form=form, page=page, text=text, filters=filters, args=args,
                           searched=bool(text or filters.any))

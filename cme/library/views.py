"""The library's home (`/library`: its topics, latest news, recent abstracts, its parts) and one page per topic
(`/library/topics/<slug>`: what the library holds on it). Read-only; `cme.library.topic_pages` gathers."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from cme.library import topic_pages, topics

bp = Blueprint("library", __name__)


@bp.get("/library")
def home():
    return render_template("library/home.html", topics=topics.TOPICS, sections=topic_pages.home_page(),
                           parts=topic_pages.LIBRARY_PARTS)


@bp.get("/library/topics/<topic_slug>")
def topic(topic_slug: str):
    found = topics.topic_named(topic_slug)
    if found is None:
        abort(404)
    return render_template("library/topic.html", topic=found, topics=topics.TOPICS,
                           sections=topic_pages.topic_page(found, viewer=current_user))

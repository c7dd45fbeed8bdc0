"""News: the public list (by topic), one page per article and the Atom feed; organizers and admins write, edit and
delete articles under /organize/news."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from cme.accounts.permissions import organizer_required
from cme.calendar.responses import conditional_response
from cme.extensions import db
from cme.formtools import ConfirmForm, page_arg
from cme.library import topics
from cme.library.markdown import render_markdown
from cme.library.news import feed as news_feed, service
from cme.library.news.forms import ArticleForm
from cme.library.news.models import NewsArticle
from cme.transactions import unit_of_work

bp = Blueprint("news", __name__)

PER_PAGE = 10
ORGANIZE_PER_PAGE = 50


def _topic_arg() -> topics.Topic | None:
    """The `?topic=` filter: a topic of the list, or none; a slug that names no topic is 404."""
    slug = request.args.get("topic", "")
    if not slug:
        return None
    topic = topics.topic_named(slug)
    if topic is None:
        abort(404)
    return topic


def _is_editor() -> bool:
    return current_user.is_authenticated and current_user.is_organizer


# ---------------------------------------------------------------- public

@bp.get("/library/news")
def index():
    topic = _topic_arg()
    today = service.news_today()
    page = db.paginate(service.public_articles(topic.slug if topic else None, today=today), page=page_arg(),
                       per_page=PER_PAGE, error_out=False)
    return render_template("library/news/index.html", page=page, topic=topic, topics=topics.TOPICS,
                           can_edit=_is_editor())


@bp.get("/library/news/<id:article_id>")
@bp.get("/library/news/<id:article_id>-<slug>")
def article(article_id: int, slug: str | None = None):
    today = service.news_today()
    found = service.public_article(article_id, today=today)
    if found is None and _is_editor():  # organizers read drafts and scheduled articles as they will look
        found = db.session.get(NewsArticle, article_id)
    if found is None:
        abort(404)
    return render_template("library/news/article.html", article=found, body=render_markdown(found.body),
                           state=found.state_on(today), can_edit=_is_editor())


@bp.get("/library/news.atom")
def feed():
    return conditional_response(news_feed.news_feed_export(_topic_arg()), cache="public, max-age=900",
                                content_type=news_feed.CONTENT_TYPE)


# ---------------------------------------------------------------- organizers and admins

@bp.get("/organize/news")
@organizer_required
def organize():
    page = db.paginate(service.all_articles(), page=page_arg(), per_page=ORGANIZE_PER_PAGE, error_out=False)
    return render_template("library/news/organize/list.html", page=page, today=service.news_today(),
                           confirm_form=ConfirmForm())


def _form_page(form: ArticleForm, article: NewsArticle | None, save):
    """The form (new or edit): "Preview" shows the article's text as it will read, saving nothing; "Save" calls
    `save()` in the request's one unit of work and goes back to the list."""
    preview = None
    if request.method == "POST" and form.preview.data:
        form.validate()  # shows what would stop the save; the preview shows the text all the same
        if "csrf_token" not in form.errors:
            preview = render_markdown(form.body.data)
    elif form.validate_on_submit():
        done = unit_of_work(save, form=form)
        if done.ok:
            saved = done.value
            flash(f"Saved “{saved.title}”. {_state_text(saved)}", "success")
            return redirect(url_for("news.organize"))
    status = 200 if request.method == "GET" or preview is not None else 422
    return render_template("library/news/organize/form.html", form=form, article=article, preview=preview), status


def _state_text(article: NewsArticle) -> str:
    state = article.state_on(service.news_today())
    if state == "draft":
        return "It is a draft: only organizers see it."
    if state == "scheduled":
        return f"It becomes public on {article.publication_date:%B %-d, %Y}."
    return "It is public."


@bp.route("/organize/news/new", methods=["GET", "POST"])
@organizer_required
def create():
    form = ArticleForm()
    if request.method == "GET":
        form.publication_date.data = form.reviewed_on.data = service.news_today()
    return _form_page(form, None, lambda: service.create_article(form.article_data()))


@bp.route("/organize/news/<id:article_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(article_id: int):
    article = db.get_or_404(NewsArticle, article_id)
    form = ArticleForm(data=service.article_data(article)) if request.method == "GET" else ArticleForm()
    return _form_page(form, article, lambda: service.update_article(article, form.article_data()))


@bp.post("/organize/news/<id:article_id>/delete")
@organizer_required
def delete(article_id: int):
    article = db.get_or_404(NewsArticle, article_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    title = article.title
    if unit_of_work(lambda: service.delete_article(article)).ok:
        flash(f"Deleted “{title}”.", "success")
    return redirect(url_for("news.organize"))

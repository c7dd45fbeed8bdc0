"""The stack floor of bench/registration.py: the framework floor (bench/_floor_app.py) rebuilt on the parts the
project must use (the brief fixes the stack), and nothing of ours. Flask-Login loads the user from the database on
each request; Flask-WTF renders and checks a four-field form with its CSRF token; Jinja renders it inside a layout
template; Flask-SQLAlchemy 2.0 typed models lock the activity, count, insert and commit. No rules, audit, mail,
reminders, overlaps or licences: what it costs above the framework floor is the price of the stack itself, which
no work of ours can go below.

    DATABASE_URL=... SECRET_KEY=... gunicorn -w 4 bench._stack_floor_app:app   (bench/registration.py starts it)
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

from flask import Flask, abort, redirect, render_template
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from sqlalchemy import String, event, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

CAPACITY = int(os.environ.get("FLOOR_CAPACITY", "10"))
DATABASE_URL = os.environ["DATABASE_URL"]


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
app = Flask(__name__)
app.config.update(SECRET_KEY=os.environ["SECRET_KEY"], SQLALCHEMY_DATABASE_URI=DATABASE_URL.replace(
    "postgresql://", "postgresql+psycopg://", 1))
app.jinja_loader = DictLoader({
    "layout.html": '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}'
                   '</title></head><body><main>{% block main %}{% endblock %}</main></body></html>',
    "form.html": '{% extends "layout.html" %}{% block title %}{{ title }}{% endblock %}{% block main %}'
                 '<form method="post">{{ form.hidden_tag() }}'
                 '{% for field in form if field.name != "csrf_token" %}<p>{{ field.label }} {{ field() }}'
                 '{% for error in field.errors %}<span>{{ error }}</span>{% endfor %}</p>{% endfor %}'
                 '<button>{{ title }}</button></form>{% endblock %}',
})
db.init_app(app)
login_manager = LoginManager(app)
with app.app_context():  # the app's own SQLite pragmas (WAL, foreign keys, busy timeout, memory map)
    from cme import _sqlite_pragmas

    event.listen(db.engine, "connect", _sqlite_pragmas)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))


class Activity(db.Model):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_sequence: Mapped[int]


class Registration(db.Model):
    __tablename__ = "registrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int]
    activity_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    waitlist_position: Mapped[int | None]
    checkin_code: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(200))
    degree: Mapped[str] = mapped_column(String(50))
    profession: Mapped[str] = mapped_column(String(50))
    dietary_needs: Mapped[str] = mapped_column(String(500))
    accessibility_needs: Mapped[str] = mapped_column(String(500))
    attested_professional: Mapped[bool]
    invite_sequence: Mapped[int]
    registered_dt: Mapped[datetime]
    updated_dt: Mapped[datetime]


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class RegistrationForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    degree = StringField("Degree", validators=[Length(max=50)])
    profession = StringField("Profession", validators=[DataRequired(), Length(max=50)])
    attest = BooleanField("I am a healthcare professional", validators=[DataRequired()])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


@app.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        if user is None:
            abort(403)
        login_user(user)
        return redirect("/")
    return render_template("form.html", form=form, title="Log in")


@app.route("/register/<int:activity_id>", methods=["GET", "POST"])
@login_required
def register(activity_id: int):
    form = RegistrationForm(full_name=current_user.full_name)
    if form.validate_on_submit():
        allocate(current_user.id, activity_id, form)
        return redirect("/schedule")
    return render_template("form.html", form=form, title="Register")


def allocate(user_id: int, activity_id: int, form: RegistrationForm) -> None:
    """Lock the activity (a row lock on PostgreSQL; on SQLite the write that takes the database's lock, as the app
    does), count, insert, commit."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(update(Activity).where(Activity.id == activity_id)
                           .values(schedule_sequence=Activity.schedule_sequence))
    else:
        db.session.execute(select(Activity.id).where(Activity.id == activity_id).with_for_update())
    confirmed, waitlisted = db.session.execute(
        select(func.count().filter(Registration.status == "confirmed"),
               func.count().filter(Registration.status == "waitlisted"))
        .where(Registration.activity_id == activity_id)).one()
    now = datetime.now(timezone.utc)
    seat = confirmed < CAPACITY
    db.session.add(Registration(
        user_id=user_id, activity_id=activity_id, status="confirmed" if seat else "waitlisted",
        waitlist_position=None if seat else waitlisted + 1, checkin_code=uuid.uuid4().hex,
        full_name=form.full_name.data, degree=form.degree.data, profession=form.profession.data, dietary_needs="",
        accessibility_needs="", attested_professional=True, invite_sequence=0, registered_dt=now, updated_dt=now))
    db.session.commit()

"""Extensions, created unbound and attached in create_app()."""
from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic can find and alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


# Full-text search structures that only the migrations know (the ORM never writes them; issue 15, point 9):
# SQLite's FTS5 table over the library's search entries (and its shadow tables), PostgreSQL's generated tsvector.
DATABASE_ONLY_TABLE_PREFIXES = ("library_search_fts",)
DATABASE_ONLY_COLUMNS = {("library_search_entries", "document")}
DATABASE_ONLY_INDEXES = {"ix_library_search_entries_document"}


def include_object_for(dialect_name: str):
    """Alembic filter: indexes declared `.ddl_if(dialect=...)` exist only on that database; the search structures
    above exist only in the database."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if reflected and compare_to is None and (
                (type_ == "table" and name.startswith(DATABASE_ONLY_TABLE_PREFIXES))
                or (type_ == "column" and (obj.table.name, name) in DATABASE_ONLY_COLUMNS)
                or (type_ == "index" and name in DATABASE_ONLY_INDEXES)):
            return False
        if type_ == "index" and not reflected:
            condition = getattr(obj, "_ddl_if", None)
            if condition is not None and condition.dialect and condition.dialect != dialect_name:
                return False
        return True

    return include_object
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()

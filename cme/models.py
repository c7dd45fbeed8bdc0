"""Imports every model module so that db.metadata knows all tables (for Alembic and tests)."""
from cme.accounts.models import ThrottleCounter, User  # noqa: F401
from cme.activities.models import Activity, ActivitySession, CreditDesignation, Disclosure, Faculty  # noqa: F401
from cme.alerts.models import ActivityAlert, AlertMailing  # noqa: F401
from cme.attendance.models import Attendance  # noqa: F401
from cme.audit.models import AuditEntry  # noqa: F401
from cme.certificates.models import Certificate  # noqa: F401
from cme.credit.evaluation_models import (  # noqa: F401
    CreditAdjustment, EvaluationQuestion, EvaluationResponse, PostTestAttempt, PostTestQuestion,
)
from cme.credit.models import CreditRecord  # noqa: F401
from cme.library.news.models import NewsArticle, NewsArticleTopic  # noqa: F401
from cme.library.materials.models import Material, StoredFile  # noqa: F401
from cme.mail.models import OutboxMessage  # noqa: F401
from cme.registration.models import Registration  # noqa: F401
from cme.library.abstracts.models import Abstract, AbstractAuthor  # noqa: F401
from cme.library.highlights.models import Highlight  # noqa: F401
from cme.library.search import SearchEntry  # noqa: F401
from cme.accounts.identity import BoardIdentifier, LicenceRequirement, StateLicence  # noqa: F401
from cme.activities.reporting_data import ActivityContentTag, ActivityOutcomeMeasure, MocRegistration  # noqa: F401
from cme.credit.models import ReportingConsent  # noqa: F401
from cme.reporting.models import ReportBatch, ReportedRecord  # noqa: F401

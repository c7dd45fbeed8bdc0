"""The "your certificate is ready" mail, with the certificate's PDF attached, composed by the `send-mail` worker from the row `issue_for_activity`
queues, so issuing for a whole activity renders no mail in the request.

Registered by the app factory (`cme.register_mail_composers`), like every composer.
"""
from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from cme.certificates.models import Certificate
from cme.certificates.render import build_certificate_pdf
from cme.extensions import db
from cme.mail.models import OutboxMessage
from cme.mail.service import Composer, NotNeeded, compose_mail
from cme.urls import absolute_url


def compose_certificate_issued(message: OutboxMessage, payload: dict[str, Any]) -> EmailMessage:
    """To the row's recipient under its subject, dated when the certificate was issued, with its PDF and
    verification links."""
    certificate = db.session.get(Certificate, payload["certificate_id"])
    if certificate is None:
        raise LookupError(f"certificate {payload['certificate_id']} no longer exists")
    if not certificate.is_valid:
        # Superseded while the mail waited: the reissue queued its own mail, with the current certificate.
        raise NotNeeded(f"certificate {certificate.verification_code} was superseded")
    user = certificate.user
    verify_url = absolute_url("certificates.verify", code=certificate.verification_code)
    msg = compose_mail(message.recipient, message.subject, "certificate_issued", recipient_name=user.full_name,
                       date=certificate.issued_dt, user=user, activity=certificate.activity, certificate=certificate,
                       pdf_url=absolute_url("certificates.pdf", certificate_id=certificate.id), verify_url=verify_url,
                       my_credit_url=absolute_url("credit.my_credit"))
    # The PDF itself, built from the stored snapshot as the download is.
    msg.add_attachment(build_certificate_pdf(certificate.snapshot, verify_url), maintype="application",
                       subtype="pdf", filename=f"certificate-{certificate.verification_code}.pdf")
    return msg


COMPOSERS: dict[str, Composer] = {"certificate_issued": compose_certificate_issued}

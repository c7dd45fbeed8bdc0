"""Certificate rendering benchmark: 1,000 certificates (a different learner and code each) on one core, and
the floor: a bare ReportLab page with the same text and no QR code.

    .venv/bin/python bench/certificates.py
    .venv/bin/python bench/certificates.py --smoke   # a few certificates: every phase, checked (the suite runs it)

Target (issue 7): at least 400 certificates per second, and at least a quarter of the floor's rate.
"""
from __future__ import annotations

import os
import sys

# bench/calendar.py is named like the standard library's `calendar` (which `email` imports): keep bench/
# at the end of the path so the standard module wins.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE] + [_HERE]

import io
import sys
import time

import _common  # noqa: F401  (puts the project on the path)
from reportlab.lib.pagesizes import landscape, letter
from reportlab.pdfgen.canvas import Canvas

from cme.certificates.models import new_verification_code
from cme.certificates.render import build_certificate_pdf

SMOKE = "--smoke" in sys.argv[1:]
N = 10 if SMOKE else 1_000


def snapshot(n: int, code: str) -> dict:
    return {
        "kind": "credit", "heading": "Certificate of Credit", "provider": "The Liver Education Foundation",
        "learner": f"Learner Number {n}, MD", "participation_line": "participated in the educational activity",
        "activity_title": "Hepatitis C Elimination Summit: Simplified Treatment in Primary Care",
        "format": "Live meeting", "dates": "Fri Oct 16, 2026, 9:00 AM – 12:00 PM EDT",
        "location": "Javits Center, New York, NY",
        "credits": [{"line": "2.75 AMA PRA Category 1 Credit(s)™ claimed",
                     "statement": "The Liver Education Foundation designates this live activity for a maximum of 3 "
                                  "AMA PRA Category 1 Credit(s)™. Physicians should claim only the credit commensurate "
                                  "with the extent of their participation in the activity."}],
        "accreditation_statement": "The Liver Education Foundation is accredited by the Accreditation Council for "
                                   "Continuing Medical Education (ACCME) to provide continuing medical education for "
                                   "physicians.",
        "issued": "November 24, 2026", "code": code,
    }


def bare_page(data: dict) -> bytes:
    """The same strings on a page, nothing else: the floor."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(letter), pageCompression=0, invariant=1)
    y = 560
    for text in (data["provider"], data["heading"], data["learner"], data["activity_title"], data["dates"],
                 data["credits"][0]["line"], data["credits"][0]["statement"], data["accreditation_statement"],
                 f"Issued {data['issued']}", f"Verification code {data['code']}"):
        canvas.setFont("Helvetica", 10)
        canvas.drawString(40, y, text)
        y -= 20
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def rate(render, inputs) -> float:
    for item in inputs[:20]:
        check(render(item))
    start = time.perf_counter()
    for item in inputs:
        render(item)
    return len(inputs) / (time.perf_counter() - start)


def check(pdf: bytes) -> None:
    if not (pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]):
        raise SystemExit("a render did not return a PDF")


def main() -> int:
    codes = [new_verification_code() for _ in range(N)]
    inputs = [(snapshot(n, code), f"https://cme.example.org/verify/{code}") for n, code in enumerate(codes)]
    certificates = rate(lambda item: build_certificate_pdf(*item), inputs)
    floor = rate(lambda item: bare_page(item[0]), inputs)
    print(f"Certificate benchmark, one core, {N:,} certificates")
    print(f"  certificates (with QR code)   {certificates:8.0f} per second")
    print(f"  floor (bare text page)        {floor:8.0f} per second")
    print(f"  target >= 400/s: {'OK' if certificates >= 400 else 'MISSED'}; "
          f">= 1/4 of the floor ({certificates / floor:.2f}): {'OK' if certificates >= floor / 4 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Certificate rendering benchmark: 1,000 certificates (a different learner and code each) on one core, and
the floor measured in the same run: a bare ReportLab page with the same strings in the same Unicode faces the
certificates use (Fira Sans regular and bold, embedded as subsets), with no layout, border or QR code. Rates
are CPU time of this process, each render measured in alternating slices (the machine is shared).

    .venv/bin/python bench/certificates.py
    .venv/bin/python bench/certificates.py --smoke   # a few certificates: every phase, checked (the suite runs it)

Targets: at least 400 certificates per second (issue 7), and at least 0.5x the floor's rate (issue 17).
"""
from __future__ import annotations

import io
import sys
import time

import _common  # noqa: F401  (puts the project on the path)
from reportlab.lib.pagesizes import landscape, letter
from reportlab.pdfgen.canvas import Canvas

from cme.certificates.models import new_verification_code
from cme.certificates.render import build_certificate_pdf
from cme.pdffonts import SANS, SANS_BOLD

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


def bare_page(data: dict, verify_url: str) -> bytes:
    """The certificate's strings on a page, each in the face the certificate prints it in, nothing else: the
    floor. (The faces are the certificates' registered fonts: ReportLab keeps one font object per face in a
    process, so registering the files again under other names would give the same objects.)"""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(letter), pageCompression=0, invariant=1)
    y = 560
    for text, face in ((data["provider"].upper(), SANS_BOLD), (data["heading"], SANS_BOLD),
                       ("This certifies that", SANS), (data["learner"], SANS_BOLD),
                       (data["participation_line"], SANS), (data["activity_title"], SANS_BOLD),
                       (f"{data['format']} · {data['dates']} · {data['location']}", SANS),
                       (data["credits"][0]["line"], SANS_BOLD), (data["credits"][0]["statement"], SANS),
                       (data["accreditation_statement"], SANS),
                       (f"Issued {data['issued']} by {data['provider']}", SANS),
                       (f"Verification code {data['code']} · {verify_url}", SANS)):
        canvas.setFont(face, 10)
        canvas.drawString(40, y, text)
        y -= 20
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def rates(renders, inputs, *, rounds: int = 10) -> list[float]:
    """Each render's rate over all the inputs, measured in alternating slices (the machine is shared: a burst of
    load elsewhere then slows every render alike, not just the one that happened to be running)."""
    for render in renders:
        for item in inputs[:20]:
            check(render(item))
    elapsed = [0.0] * len(renders)
    step = -(-len(inputs) // rounds)
    for start in range(0, len(inputs), step):
        chunk = inputs[start:start + step]
        for i, render in enumerate(renders):
            began = time.process_time()
            for item in chunk:
                render(item)
            elapsed[i] += time.process_time() - began
    return [len(inputs) / seconds for seconds in elapsed]


def check(pdf: bytes) -> None:
    if not (pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]):
        raise SystemExit("a render did not return a PDF")


def main() -> int:
    codes = [new_verification_code() for _ in range(N)]
    inputs = [(snapshot(n, code), f"https://cme.example.org/verify/{code}") for n, code in enumerate(codes)]
    certificates, floor = rates([lambda item: build_certificate_pdf(*item), lambda item: bare_page(*item)], inputs)
    ratio = certificates / floor
    print(f"Certificate benchmark, one core, {N:,} certificates")
    print(f"  certificates (with QR code)   {certificates:8.0f} per second")
    print(f"  floor: bare page, same faces   {floor:8.0f} per second")
    print(f"  certificates >= 400/s (issue 7): {'MET' if certificates >= 400 else 'MISSED'}")
    print(f"  certificates / floor = {ratio:.2f}x (target >= 0.5x): {'MET' if ratio >= 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

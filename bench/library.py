"""Library search benchmark (issue 15, quality bars): 10,000 abstracts, 2,000 slide decks and 1,000 news articles
over 2,000 activities, indexed through the search's own rebuild (`reindex_all`); then the median and p95 of a
two-word search's first page (a realistic one and the worst case), of a filtered search, of a topic page, and, in
the same run, of the catalog's first page; and the time to upload and index a 50-page PDF through the HTTP form.

    .venv/bin/python bench/library.py                 # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/library.py   # PostgreSQL
    .venv/bin/python bench/library.py --smoke         # tiny sizes, a few seconds: every phase, checked (the suite runs it)
    .venv/bin/python bench/library.py --explain       # also the database's plan of each search's SQL

The pages are timed in turns (`interleaved`), so a load that changes during the run weighs on each alike.

The slide decks are real `Material` rows (with `StoredFile` rows) carrying extracted text, inserted set-wise: the
search indexes a deck's text, not its bytes, so the 2,000 decks have no PDF files behind them (the upload phase
sends real PDFs, made with ReportLab, through the organizers' form, and times checking, storing, thumbnail, text
extraction and indexing).

The words: a Zipf-like mix (weight 1/rank) over a few thousand medical-sounding words, a hepatology library's
common words ("hepatitis", "cirrhosis") ranked first, among stop words. The worst case searches the two most
common words, found in nearly every item; the realistic case, two words of middle rank (a drug pair), found in a
few hundred. Each search prints how many items it matched.

Target (issue 15): the search's median within 3x the catalog's first page.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import catalog as catalog_bench
from _common import make_app, scratch_database, settle, summary, timings

SMOKE = "--smoke" in sys.argv[1:]
EXPLAIN = "--explain" in sys.argv[1:]
N_ACTIVITIES = 30 if SMOKE else 2_000
N_ABSTRACTS = 60 if SMOKE else 10_000
N_DECKS = 12 if SMOKE else 2_000
N_NEWS = 10 if SMOKE else 1_000
DECK_WORDS = 200 if SMOKE else 1_500
REPEAT = 3 if SMOKE else int(os.environ.get("BENCH_REPEAT", "100"))
WARMUP = 1 if SMOKE else 5
UPLOAD_PAGES = 2 if SMOKE else 50
UPLOADS = 1 if SMOKE else 5

# A hepatology library's common words first; then generated terms, with a few real ones at middle ranks.
COMMON = ("hepatitis cirrhosis fibrosis liver patients treatment disease transplant carcinoma steatosis portal "
          "hypertension screening antiviral elastography alcohol cohort outcomes mortality survival").split()
MIDDLE = ("sofosbuvir velpatasvir glecaprevir resmetirom semaglutide methadone naloxone terlipressin lenvatinib "
          "atezolizumab bevacizumab tacrolimus buprenorphine varices ascites encephalopathy albumin biopsy "
          "ultrasound surveillance allocation donor recipient rejection adherence linkage prison pharmacy "
          "telehealth syringe outreach genotype resistance").split()
REALISTIC = ("sofosbuvir", "velpatasvir")  # ranks ~200 and ~260 (`vocabulary`)
WORST = (COMMON[0], COMMON[1])
FILLER = "the of and in with for were was a to at on by from after among".split()
_ROOTS = ("hepat chol fibr steat nephr cardi gastr immun lymph vascul onc angi myel neur endocrin metabol pancreat "
          "duoden splen thromb hemat cyt bili enter col esophag derm pulmon oste arthr").split()
_ENDINGS = "itis osis ectomy ography ic ocyte oma opathy emia ostomy ogenic oplasty ology otomy oscopy".split()
_SYLLABLES = "ba ce di fo lu ma ne ri so ta ve zo ga pe".split()
_DRUGS = "vir mab nib tide zole pril statin sartan".split()


def vocabulary(size: int = 3_000) -> list[str]:
    """`size` distinct words in rank order (most common first)."""
    rng = random.Random(3)
    made = [r + e for r in _ROOTS for e in _ENDINGS]
    made += ["".join(s) + d for n in (2, 3) for s in itertools.product(_SYLLABLES, repeat=n) for d in _DRUGS]
    made = sorted(set(made) - set(COMMON) - set(MIDDLE))
    rng.shuffle(made)
    words = list(COMMON)
    middle = iter(MIDDLE)
    for word in made:
        if len(words) >= size:
            break
        if len(words) >= 200 and len(words) % 60 == 20:  # a real word every 60 ranks from rank 200
            words.append(next(middle, word))
        words.append(word)
    return words[:size]


WORDS = vocabulary()
_CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(WORDS) + 1)))


def text(rng: random.Random, words: int) -> str:
    """`words` words: about 60% drawn from the Zipf-like vocabulary, the rest stop words."""
    content = rng.choices(WORDS, cum_weights=_CUMULATIVE, k=words)
    return " ".join(word if rng.random() < 0.6 else rng.choice(FILLER) for word in content)


def seed(db) -> None:
    from cme.library.abstracts.models import Abstract, AbstractAuthor
    from cme.library.materials.models import Material, StoredFile
    from cme.library.news.models import NewsArticle, NewsArticleTopic

    catalog_bench.N_ACTIVITIES = N_ACTIVITIES
    catalog_bench.seed(db)
    rng = random.Random(15)
    published = list(db.session.scalars(db.text("SELECT id FROM activities WHERE status = 'published'")))
    now = datetime.now(timezone.utc)
    abstracts, authors = [], []
    for i in range(1, N_ABSTRACTS + 1):
        title = text(rng, 8).capitalize() + f" {i}"
        abstracts.append(dict(
            id=i, activity_id=rng.choice(published), session_id=None, title=title, title_key=title.lower(),
            background=text(rng, 60), methods=text(rng, 50), results=text(rng, 60), conclusions=text(rng, 30),
            keywords=", ".join(rng.sample(WORDS[:300], 3) + rng.sample(["hepatitis C", "MASLD", "liver cancer",
                                                                        "transplant", "opioid use"], 1)),
            is_published=True, presentation_type=rng.choice(["oral", "poster"]),
            topic=rng.choice(["Hepatology", "Addiction medicine", "Transplant hepatology", ""]),
            created_dt=now, updated_dt=now))
        for position in range(3):
            authors.append(dict(abstract_id=i, position=position, name=f"Author {rng.randint(1, 3000)}",
                                affiliation=f"University {rng.randint(1, 200)}", is_presenting=position == 0))
    # A few decks on an activity of the topic page measured (its title says "Hepatitis C..."), the rest anywhere.
    on_topic = db.session.scalar(db.text("SELECT min(id) FROM activities WHERE status = 'published' AND "
                                         "lower(title) LIKE '%hepatitis c%'"))
    files, materials = [], []
    for i in range(1, N_DECKS + 1):
        # catalog.seed: faculty i and sessions 3i..3i+2 are activity i's
        activity_id = on_topic if i <= 3 and on_topic else rng.choice(published)
        sha256 = hashlib.sha256(f"deck {i}".encode()).hexdigest()
        files.append(dict(sha256=sha256, size=2_000_000, content_type="application/pdf", has_thumbnail=False,
                          created_dt=now))
        materials.append(dict(
            id=i, activity_id=activity_id, session_id=3 * activity_id + rng.randint(0, 2), speaker_id=activity_id,
            title=text(rng, 6).capitalize() + f" (slides {i})", release="public" if rng.random() < 0.8 else
            "registrants", embargo_until_dt=None, file_sha256=sha256, file_name=f"deck-{i}.pdf", kind="pdf",
            page_count=40, text=text(rng, DECK_WORDS), uploaded_by_id=None, created_dt=now, updated_dt=now))
    articles, links = [], []
    for i in range(1, N_NEWS + 1):
        day = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))
        articles.append(dict(
            id=i, uuid=uuid.uuid4(), title=text(rng, 8).capitalize() + f" {i}", source="Hepatology Today",
            summary=text(rng, 40), body=text(rng, 250), publication_date=day, is_published=True, reviewed_on=day,
            citation_journal="Hepatology", citation_year=day.year, citation_volume="", citation_issue="",
            citation_pages="", created_dt=now, updated_dt=now))
        links.append(dict(article_id=i, topic=rng.choice(["hepatitis-c", "masld", "liver-cancer"])))
    for table, rows in ((Abstract.__table__, abstracts), (AbstractAuthor.__table__, authors),
                        (StoredFile.__table__, files), (Material.__table__, materials),
                        (NewsArticle.__table__, articles), (NewsArticleTopic.__table__, links)):
        for start in range(0, len(rows), 1_000):
            db.session.execute(table.insert(), rows[start:start + 1_000])
    if db.engine.dialect.name == "postgresql":
        for name in ("abstracts", "materials", "news_articles"):
            db.session.execute(db.text(f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))"))
    db.session.commit()


def slides_pdf(pages: int, marker: str) -> bytes:
    """A deck of `pages` slides made with ReportLab, each with a few lines of text; `marker` on the first (so each
    upload is new bytes, checked, stored and indexed, never found already stored)."""
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.pdfgen import canvas

    rng = random.Random(marker)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=landscape(letter))
    for page in range(pages):
        pdf.setFont("Helvetica-Bold", 28)
        pdf.drawString(60, 540, (marker if page == 0 else text(rng, 5)).capitalize()[:60])
        pdf.setFont("Helvetica", 18)
        for line in range(8):
            pdf.drawString(80, 470 - 44 * line, "- " + text(rng, 9)[:70])
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def upload_times(app, client, db) -> list[float]:
    """Milliseconds of each upload of a fresh `UPLOAD_PAGES`-page PDF through the organizers' form (as an
    administrator), each checked: redirected, stored with its text, found by the search."""
    from cme.accounts.service import create_user
    from cme.library.materials.models import Material

    with app.app_context():
        create_user("bench-admin@example.org", "bench password 15", role="admin", full_name="Bench Admin")
        db.session.commit()
        activity_id = db.session.scalar(db.text("SELECT min(id) FROM activities WHERE status = 'published'"))
    response = client.post("/account/login", data={"email": "bench-admin@example.org", "password": "bench password 15"})
    assert response.status_code == 302, response.status_code
    markers = [f"zebrafishmarker{n}" for n in range(UPLOADS)]
    decks = [slides_pdf(UPLOAD_PAGES, marker) for marker in markers]
    result = []
    for marker, deck in zip(markers, decks):
        start = time.perf_counter()
        response = client.post(f"/organize/activities/{activity_id}/materials", content_type="multipart/form-data",
                               data={"file": (io.BytesIO(deck), f"{marker}.pdf"), "title": "", "session_id": "",
                                     "speaker_id": "", "release": "public"})
        result.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        with app.app_context():
            material = db.session.scalar(db.select(Material).where(Material.file_name == f"{marker}.pdf"))
            assert material is not None and material.page_count == UPLOAD_PAGES and marker in material.text.lower()
    client.post("/account/logout")
    body = client.get(f"/library/search?q={markers[0]}").get_data(as_text=True)
    assert body.count('class="search-result"') == 1 and "<mark>" in body, "the uploaded deck is found"
    return result


def interleaved(client, paths: list[str]) -> dict[str, list[float]]:
    """Milliseconds of REPEAT GETs of each path, taken in turns (one of each, again and again), so that a machine
    whose load changes during the run weighs on each page alike and their ratios hold."""
    for path in paths:
        timings(lambda: client.get(path), repeat=0, warmup=WARMUP)
    result: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(REPEAT):
        for path in paths:
            result[path] += timings(lambda: client.get(path), repeat=1, warmup=0)
    return result


def matches(client, path: str) -> str:
    """The page's statement of how many items matched ("1,234 results", "more than 1,000 results")."""
    found = re.search(r'class="result-count"[^>]*>([^<]*)<', client.get(path).get_data(as_text=True))
    return found.group(1).strip() if found else "?"


def explain(app, db, client, path: str) -> None:
    """The plan of each statement a GET of `path` runs on the search index."""
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "library_search" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    db.event.listen(engine, "before_cursor_execute", note)
    try:
        client.get(path)
    finally:
        db.event.remove(engine, "before_cursor_execute", note)
    print(f"\n  EXPLAIN of GET {path}")
    with engine.connect() as conn:
        for statement, parameters in statements:
            print("    --- " + " ".join(statement.split())[:300])
            if engine.dialect.name == "postgresql":
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
                print("\n".join("      " + row[0] for row in rows))
            else:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                print("\n".join(f"      {row[-1]}" for row in rows))
                start = time.perf_counter()
                conn.exec_driver_sql(statement, parameters).all()
                print(f"      (ran in {(time.perf_counter() - start) * 1000:.1f} ms)")


def main() -> int:
    from flask_migrate import upgrade

    from cme.extensions import db
    from cme.library.search import SearchEntry, reindex_all

    with scratch_database() as (backend, url), tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        with app.app_context():
            upgrade()
            seed(db)
            started = time.perf_counter()
            counts = reindex_all()
            db.session.commit()
            indexed = time.perf_counter() - started
            assert counts == {"abstract": N_ABSTRACTS, "news": N_NEWS, "highlight": 0, "material": N_DECKS}, counts
            settle(db)
            year = db.session.scalar(db.select(db.func.max(SearchEntry.year)))
        client = app.test_client()
        realistic = "/library/search?q=" + "+".join(REALISTIC)
        worst = "/library/search?q=" + "+".join(WORST)
        filtered = f"/library/search?q={'+'.join(WORST)}&type=abstract&year={year}&topic=hepatitis-c"
        topic = "/library/topics/hepatitis-c"
        for path in (realistic, worst, filtered, topic, "/"):
            response = client.get(path)
            assert response.status_code == 200, path
        for path in (realistic, worst, worst + "&type=material"):  # the last: slides, found by their text
            body = client.get(path).get_data(as_text=True)
            found = int(re.sub(r"\D", "", matches(client, path)) or 0)
            assert found > 0 or (SMOKE and path == realistic), f"{path}: nothing found"
            assert body.count('class="search-result"') == min(20, found) and ("<mark>" in body or not found), \
                f"{path}: a first page of marked hits"
        page = client.get(topic).get_data(as_text=True)
        assert 'id="section-slides"' in page and "No slides on this topic yet." not in page, "the topic page's slides"

        print(f"Library search benchmark on {backend}: {N_ABSTRACTS:,} abstracts, {N_DECKS:,} slide decks "
              f"({DECK_WORDS:,} words of text each), {N_NEWS:,} news, {N_ACTIVITIES:,} activities; "
              f"{len(WORDS):,}-word Zipf-like vocabulary")
        print(f"  index rebuilt (reindex_all) in {indexed:.1f} s")
        print(f"  realistic search \"{' '.join(REALISTIC)}\": {matches(client, realistic)}; worst case "
              f"\"{' '.join(WORST)}\": {matches(client, worst)}; filtered: {matches(client, filtered)}")
        measured = interleaved(client, [realistic, worst, filtered, topic, "/"])
        searched, _ = summary("two-word search, first page (realistic)", measured[realistic])
        worst_case, _ = summary("two-word search, first page (worst case)", measured[worst])
        narrowed, _ = summary("filtered search (type, year, topic)", measured[filtered])
        topical, _ = summary("topic page GET " + topic, measured[topic])
        first, _ = summary("catalog first page GET /", measured["/"])
        uploaded = upload_times(app, client, db)
        print(f"  upload and index a {UPLOAD_PAGES}-page PDF through the form: median "
              f"{statistics.median(uploaded):.0f} ms (runs: {', '.join(f'{t:.0f}' for t in uploaded)})")
        if EXPLAIN:
            for path in (realistic, worst, filtered):
                explain(app, db, client, path)
        with app.app_context():
            db.engine.dispose()

    print(f"  realistic search / catalog first page = {searched / first:.2f}x (target <= 3x): "
          f"{'OK' if searched <= 3 * first else 'MISSED'}")
    print(f"  worst-case search / catalog first page = {worst_case / first:.2f}x")
    print(f"  filtered / catalog first page = {narrowed / first:.2f}x")
    print(f"  topic page / catalog first page = {topical / first:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

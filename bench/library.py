"""Library search benchmark (issue 15, point 9): 10,000 abstracts, 2,000 slide-deck-sized texts and 1,000 news
articles over 2,000 activities, indexed through the search's own rebuild (`reindex_all`), then the median and p95
of a two-word search's first page, of a filtered search, and, in the same run, of the catalog's first page.

    .venv/bin/python bench/library.py                 # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/library.py   # PostgreSQL
    .venv/bin/python bench/library.py --smoke         # tiny sizes, a few seconds: every phase, checked (the suite runs it)

Target (issue 15): the search's median within 3x the catalog's first page. Slide decks are seeded as long abstracts
(the materials and their extracted text are not on this branch); topic pages are not either.
"""
from __future__ import annotations

import os
import sys

# bench/calendar.py is named like the standard library's `calendar`: keep bench/ at the end of the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE] + [_HERE]

import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402

import catalog as catalog_bench  # noqa: E402
from _common import make_app, scratch_database, summary, timings  # noqa: E402

SMOKE = "--smoke" in sys.argv[1:]
N_ACTIVITIES = 30 if SMOKE else 2_000
N_ABSTRACTS = 60 if SMOKE else 10_000
N_DECKS = 12 if SMOKE else 2_000
N_NEWS = 10 if SMOKE else 1_000
DECK_WORDS = 200 if SMOKE else 1_500
REPEAT = 3 if SMOKE else 200
WARMUP = 1 if SMOKE else 5

VOCABULARY = ("hepatitis cirrhosis fibrosis steatosis transplant carcinoma buprenorphine elimination portal "
              "hypertension screening antiviral elastography varices ascites encephalopathy albumin terlipressin "
              "sofosbuvir velpatasvir glecaprevir resmetirom semaglutide methadone naloxone alcohol biopsy "
              "ultrasound surveillance lenvatinib atezolizumab bevacizumab allocation donor recipient rejection "
              "tacrolimus cohort randomized trial outcomes mortality survival adherence linkage prison pharmacy "
              "telehealth community nurse primary care syringe outreach genotype resistance").split()
FILLER = "the of and in with for patients were was a to at on by from after among".split()


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY) if rng.random() < 0.35 else rng.choice(FILLER) for _ in range(words))


def seed(db) -> None:
    from cme.library.abstracts.models import Abstract, AbstractAuthor
    from cme.library.news.models import NewsArticle, NewsArticleTopic

    catalog_bench.N_ACTIVITIES = N_ACTIVITIES
    catalog_bench.seed(db)
    rng = random.Random(15)
    published = list(db.session.scalars(db.text("SELECT id FROM activities WHERE status = 'published'")))
    now = datetime.now(timezone.utc)
    abstracts, authors = [], []
    for i in range(1, N_ABSTRACTS + N_DECKS + 1):
        deck = i > N_ABSTRACTS
        title = ("Slides: " if deck else "") + text(rng, 8).capitalize() + f" {i}"
        abstracts.append(dict(
            id=i, activity_id=rng.choice(published), session_id=None, title=title, title_key=title.lower(),
            background=text(rng, DECK_WORDS if deck else 60), methods=text(rng, 50), results=text(rng, 60),
            conclusions=text(rng, 30), keywords=", ".join(rng.sample(VOCABULARY, 3)), is_published=True,
            presentation_type="oral" if deck else rng.choice(["oral", "poster"]),
            topic=rng.choice(["Hepatology", "Addiction medicine", "Transplant hepatology", ""]),
            created_dt=now, updated_dt=now))
        for position in range(3):
            authors.append(dict(abstract_id=i, position=position, name=f"Author {rng.randint(1, 3000)}",
                                affiliation=f"University {rng.randint(1, 200)}", is_presenting=position == 0))
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
                        (NewsArticle.__table__, articles), (NewsArticleTopic.__table__, links)):
        for start in range(0, len(rows), 2_000):
            db.session.execute(table.insert(), rows[start:start + 2_000])
    db.session.commit()


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
            assert counts == {"abstract": N_ABSTRACTS + N_DECKS, "news": N_NEWS, "highlight": 0, "material": 0}, counts
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(db.text("VACUUM ANALYZE library_search_entries"))
            else:
                db.session.execute(db.text("ANALYZE"))
                db.session.commit()
            year = db.session.scalar(db.select(db.func.max(SearchEntry.year)))
        client = app.test_client()
        two_words = "/library/search?q=portal+hypertension"
        filtered = f"/library/search?q=portal+hypertension&type=abstract&year={year}&topic=hepatitis-c"
        for path in (two_words, filtered, "/"):
            response = client.get(path)
            assert response.status_code == 200, path
        body = client.get(two_words).get_data(as_text=True)
        assert body.count('class="search-result"') == 20 and "<mark>" in body, "the first page shows 20 marked hits"

        print(f"Library search benchmark on {backend}: {N_ABSTRACTS:,} abstracts, {N_DECKS:,} slide-deck texts "
              f"({DECK_WORDS} words), {N_NEWS:,} news, {N_ACTIVITIES:,} activities")
        print(f"  index rebuilt (reindex_all) in {indexed:.1f} s")
        searched, _ = summary("two-word search, first page", timings(lambda: client.get(two_words), repeat=REPEAT,
                                                                       warmup=WARMUP))
        narrowed, _ = summary("filtered search (type, year, topic)", timings(lambda: client.get(filtered),
                                                                               repeat=REPEAT, warmup=WARMUP))
        first, _ = summary("catalog first page GET /", timings(lambda: client.get("/"), repeat=REPEAT, warmup=WARMUP))
        with app.app_context():
            db.engine.dispose()

    print(f"  search / catalog first page = {searched / first:.2f}x (target <= 3x): "
          f"{'OK' if searched <= 3 * first else 'MISSED'}")
    print(f"  filtered / catalog first page = {narrowed / first:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

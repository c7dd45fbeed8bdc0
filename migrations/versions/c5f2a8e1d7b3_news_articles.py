"""news articles: news_articles, news_article_topics

Issue 15, point 7. Short articles on research and on the foundation: title, source, summary, Markdown body,
publication date (a later one schedules the article) and published flag, "last reviewed" date, the study's
citation (journal, year, volume, issue, pages, DOI, PubMed ID), and one or more topics of cme.library.topics.

Revision ID: c5f2a8e1d7b3
Revises: b7d41c6e9a28
Create Date: 2026-11-29 22:05:09.187576

"""
import sqlalchemy as sa
from alembic import op

from cme.timeutil import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c5f2a8e1d7b3'
down_revision = 'b7d41c6e9a28'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'news_articles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.Uuid(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('publication_date', sa.Date(), nullable=False),
        sa.Column('is_published', sa.Boolean(), nullable=False),
        sa.Column('reviewed_on', sa.Date(), nullable=False),
        sa.Column('citation_journal', sa.String(length=200), nullable=False),
        sa.Column('citation_year', sa.Integer(), nullable=True),
        sa.Column('citation_volume', sa.String(length=20), nullable=False),
        sa.Column('citation_issue', sa.String(length=20), nullable=False),
        sa.Column('citation_pages', sa.String(length=40), nullable=False),
        sa.Column('doi', sa.String(length=200), nullable=True),
        sa.Column('pmid', sa.String(length=12), nullable=True),
        sa.Column('created_dt', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_dt', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('citation_year IS NULL OR (citation_year >= 1800 AND citation_year <= 2200)',
                           name=op.f('ck_news_articles_citation_year')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_news_articles')),
        sa.UniqueConstraint('uuid', name=op.f('uq_news_articles_uuid')),
    )
    with op.batch_alter_table('news_articles', schema=None) as batch_op:
        batch_op.create_index('ix_news_articles_is_published_publication_date_id_updated_dt',
                              ['is_published', 'publication_date', 'id', 'updated_dt'], unique=False)

    op.create_table(
        'news_article_topics',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['news_articles.id'],
                                name=op.f('fk_news_article_topics_article_id_news_articles'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('article_id', 'topic', name=op.f('pk_news_article_topics')),
    )
    with op.batch_alter_table('news_article_topics', schema=None) as batch_op:
        batch_op.create_index('ix_news_article_topics_topic_article_id', ['topic', 'article_id'], unique=False)


def downgrade():
    with op.batch_alter_table('news_article_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_news_article_topics_topic_article_id')
    op.drop_table('news_article_topics')

    with op.batch_alter_table('news_articles', schema=None) as batch_op:
        batch_op.drop_index('ix_news_articles_is_published_publication_date_id_updated_dt')
    op.drop_table('news_articles')

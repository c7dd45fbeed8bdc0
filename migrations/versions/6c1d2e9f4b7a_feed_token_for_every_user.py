"""feed token for every user

Every user now gets a personal calendar feed token when created, so showing the feed address never writes.
This gives one to the users created before, derived exactly as `cme.calendar.service` derives it (the
token is an HMAC of the nonce under SECRET_KEY; the row keeps the nonce and the token's SHA-256).

Revision ID: 6c1d2e9f4b7a
Revises: 43119b509988
Create Date: 2026-11-29 16:20:00.000000

"""
import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = '6c1d2e9f4b7a'
down_revision = '43119b509988'
branch_labels = None
depends_on = None


def upgrade():
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('feed_token_nonce', sa.String),
                     sa.column('feed_token_hash', sa.String))
    connection = op.get_bind()
    ids = connection.execute(sa.select(users.c.id).where(users.c.feed_token_nonce.is_(None))).scalars().all()
    if not ids:
        return
    key = current_app.config['SECRET_KEY'].encode()
    rows = []
    for user_id in ids:
        nonce = secrets.token_hex(16)
        digest = hmac.new(key, nonce.encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip('=')
        rows.append({'b_id': user_id, 'b_nonce': nonce, 'b_hash': hashlib.sha256(token.encode()).hexdigest()})
    connection.execute(users.update().where(users.c.id == sa.bindparam('b_id'))
                       .values(feed_token_nonce=sa.bindparam('b_nonce'), feed_token_hash=sa.bindparam('b_hash')), rows)


def downgrade():
    pass  # the tokens stay valid: the previous code reads them as it reads any token created on first use

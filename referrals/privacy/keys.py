"""Key rotation: re-encrypt every encrypted value under the first key.

To rotate: make a new key, put it first in ``DATA_ENCRYPTION_KEYS`` on every server
(the old one stays second, so existing values still read), run ``rotate-keys``, then
remove the old key. Custody record numbers get their search hash under the new key too.
A run only rewrites values not already under the first key, so it can be stopped and
run again.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from ..encryption import encrypted_columns, keyring
from ..extensions import db

BATCH = 1000


def rotate_keys(session: Session) -> Counter:
    """Re-encrypt values under the first key; return how many per ``table.column``
    (and ``referrals.person_ref_hash`` for search hashes recomputed). Commits each
    batch, so a large table is not held locked."""
    ring = keyring()
    primary = Fernet(ring.keys[0])
    changed: Counter = Counter()
    for column in encrypted_columns(db.metadata):
        hashed = column.table.name == "referrals" and column.name == "person_ref"
        # Untyped columns: values as stored, never encrypted or decrypted on the way.
        raw = sa.table(
            column.table.name,
            sa.column("id"),
            sa.column(column.name),
            *([sa.column("person_ref_hash")] if hashed else []),
        )
        value = raw.c[column.name]
        last = 0
        while True:
            rows = session.execute(
                sa.select(*raw.c)
                .where(raw.c.id > last, value.is_not(None))
                .order_by(raw.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            last = rows[-1][0]
            tokens, hashes = [], []
            for row_id, token, *stored_hash in rows:
                try:
                    primary.decrypt(token.encode())
                except InvalidToken:
                    tokens.append({"row_id": row_id, "value": ring.rotate(token)})
                if hashed:
                    wanted = ring.search_hash(ring.decrypt(token))
                    if stored_hash[0] != wanted:
                        hashes.append({"row_id": row_id, "value": wanted})
            where = raw.c.id == sa.bindparam("row_id")
            if tokens:
                session.execute(
                    raw.update().where(where).values({column.name: sa.bindparam("value")}),
                    tokens,
                )
                changed[f"{column.table.name}.{column.name}"] += len(tokens)
            if hashes:
                session.execute(
                    raw.update().where(where).values(person_ref_hash=sa.bindparam("value")),
                    hashes,
                )
                changed["referrals.person_ref_hash"] += len(hashes)
            session.commit()
    return changed

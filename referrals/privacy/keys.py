"""Key rotation: re-encrypt every encrypted value under the first key.

To rotate: make a new key, put it first in ``DATA_ENCRYPTION_KEYS`` on every server
(the old one stays second, so existing values still read), run ``rotate-keys``, then
remove the old key. Custody record numbers get their search hash under the new key too.
A run only rewrites values not already under the first key in the current form (values
written before it are Fernet tokens: ``encryption``), so it can be stopped and run
again. It may run while the app is in use: each value is written back only if it is
still the one read, so a value saved meanwhile (already under the first key, with its
search hash) is left as it is.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..encryption import encrypted_columns, keyring
from ..extensions import db

BATCH = 1000


def rotate_keys(session: Session) -> Counter:
    """Re-encrypt values under the first key, in the current form; return how many per
    ``table.column`` (and ``referrals.person_ref_hash`` for search hashes recomputed).
    Commits each batch, so a large table is not held locked."""
    ring = keyring()
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
            changes = []
            for row_id, token, *stored_hash in rows:
                new = token if ring.is_current(token) else ring.rotate(token)
                change = {"row_id": row_id, "old": token, "value": new}
                stale_hash = False
                if hashed:
                    change["hash"] = ring.search_hash(ring.decrypt(token))
                    stale_hash = stored_hash[0] != change["hash"]
                if new != token:
                    changed[f"{column.table.name}.{column.name}"] += 1
                if stale_hash:
                    changed["referrals.person_ref_hash"] += 1
                if new != token or stale_hash:
                    changes.append(change)
            if changes:
                # Only where the value is still the one read (see the module's note).
                where = sa.and_(raw.c.id == sa.bindparam("row_id"), value == sa.bindparam("old"))
                values = {column.name: sa.bindparam("value")}
                if hashed:
                    values["person_ref_hash"] = sa.bindparam("hash")
                session.execute(raw.update().where(where).values(values), changes)
            session.commit()
    return changed

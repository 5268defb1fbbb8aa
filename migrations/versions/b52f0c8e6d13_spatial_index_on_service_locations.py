"""Spatial index on service locations: an R-tree on SQLite (kept in step by triggers),
a GiST index on the location's point on PostgreSQL

Revision ID: b52f0c8e6d13
Revises: e3b5f525d0dc
Create Date: 2026-11-23 09:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b52f0c8e6d13'
down_revision = 'e3b5f525d0dc'
branch_labels = None
depends_on = None

RTREE = "location_positions"

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {RTREE} USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    f"INSERT INTO {RTREE} SELECT id, latitude, latitude, longitude, longitude FROM locations",
    f"""CREATE TRIGGER locations_position_insert AFTER INSERT ON locations BEGIN
        INSERT INTO {RTREE} VALUES (new.id, new.latitude, new.latitude,
                                    new.longitude, new.longitude);
    END""",
    f"""CREATE TRIGGER locations_position_update
        AFTER UPDATE OF id, latitude, longitude ON locations BEGIN
        DELETE FROM {RTREE} WHERE id = old.id;
        INSERT INTO {RTREE} VALUES (new.id, new.latitude, new.latitude,
                                    new.longitude, new.longitude);
    END""",
    f"""CREATE TRIGGER locations_position_delete AFTER DELETE ON locations BEGIN
        DELETE FROM {RTREE} WHERE id = old.id;
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS locations_position_insert",
    "DROP TRIGGER IF EXISTS locations_position_update",
    "DROP TRIGGER IF EXISTS locations_position_delete",
    f"DROP TABLE IF EXISTS {RTREE}",
]
POSTGRESQL_CREATE = [
    "CREATE INDEX ix_locations_point ON locations USING gist (point(longitude, latitude))"
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS ix_locations_point"]


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_CREATE if sqlite else POSTGRESQL_CREATE:
        op.execute(statement)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DROP if sqlite else POSTGRESQL_DROP:
        op.execute(statement)

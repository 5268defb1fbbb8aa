"""The spatial index on service locations, and how queries use it.

SQLite: an R-tree virtual table (``location_positions``) holds each location's point,
kept in step with ``locations`` by triggers, so every writer (the app, imports, bulk
loads, a DELETE in a test) keeps it right. PostgreSQL: a GiST index on the location's
point (``point(longitude, latitude)``), which needs no extension (PostGIS is not
required). Both answer "which locations lie in this box" from the index alone.

Both are made by the migrations (and by ``create_all``, through the DDL below). They
are not tables or indexes the models describe, so schema comparison leaves them out
(``include_name``).
"""

from __future__ import annotations

import sqlalchemy as sa

RTREE = "location_positions"
GIST_INDEX = "ix_locations_point"

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE location_positions USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    "INSERT INTO location_positions "
    "SELECT id, latitude, latitude, longitude, longitude FROM locations",
    """CREATE TRIGGER locations_position_insert AFTER INSERT ON locations BEGIN
        INSERT INTO location_positions VALUES (new.id, new.latitude, new.latitude,
                                    new.longitude, new.longitude);
    END""",
    """CREATE TRIGGER locations_position_update
        AFTER UPDATE OF id, latitude, longitude ON locations BEGIN
        DELETE FROM location_positions WHERE id = old.id;
        INSERT INTO location_positions VALUES (new.id, new.latitude, new.latitude,
                                    new.longitude, new.longitude);
    END""",
    """CREATE TRIGGER locations_position_delete AFTER DELETE ON locations BEGIN
        DELETE FROM location_positions WHERE id = old.id;
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS locations_position_insert",
    "DROP TRIGGER IF EXISTS locations_position_update",
    "DROP TRIGGER IF EXISTS locations_position_delete",
    "DROP TABLE IF EXISTS location_positions",
]
POSTGRESQL_CREATE = [
    "CREATE INDEX ix_locations_point ON locations USING gist (point(longitude, latitude))"
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS ix_locations_point"]


def create_statements(dialect: str) -> list[str]:
    return SQLITE_CREATE if dialect == "sqlite" else POSTGRESQL_CREATE


def drop_statements(dialect: str) -> list[str]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRESQL_DROP


def attach_to(table: sa.Table) -> None:
    """Make ``create_all``/``drop_all`` build and remove the index with ``table``."""

    def create(target, connection, **kw) -> None:
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    def drop(target, connection, **kw) -> None:
        for statement in drop_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    sa.event.listen(table, "after_create", create)
    sa.event.listen(table, "before_drop", drop)


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """For schema comparison (Alembic's ``include_name``): leave the spatial index out."""
    if type_ == "table" and name and name.startswith(RTREE):
        return False
    return not (type_ == "index" and name == GIST_INDEX)


def in_box(
    dialect: str,
    location_id: sa.ColumnElement,
    latitude: sa.ColumnElement,
    longitude: sa.ColumnElement,
    south: float,
    north: float,
    west: float,
    east: float,
) -> sa.ColumnElement[bool]:
    """SQL for "the location lies in the box", answered from the spatial index."""
    if dialect == "sqlite":
        rtree = sa.table(
            RTREE,
            sa.column("id"),
            *(sa.column(c) for c in ("min_lat", "max_lat", "min_lon", "max_lon")),
        )
        # The R-tree stores 32-bit floats rounded outwards, so it may return a point just
        # outside the box: the exact comparison follows.
        inside = sa.select(rtree.c.id).where(
            rtree.c.max_lat >= south,
            rtree.c.min_lat <= north,
            rtree.c.max_lon >= west,
            rtree.c.min_lon <= east,
        )
        return sa.and_(
            location_id.in_(inside),
            latitude.between(south, north),
            longitude.between(west, east),
        )
    point = sa.func.point(longitude, latitude)
    box = sa.func.box(sa.func.point(west, south), sa.func.point(east, north))
    return point.op("<@")(box)

"""Shared set-up for the benchmarks: a throwaway database with reference and demo data."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from referrals import create_app
from referrals.extensions import db
from referrals.seed.demo import load_demo
from referrals.seed.reference import load_reference


def bench_app(database_url: str | None = None) -> tuple[Flask, Path | None]:
    """An app on ``database_url``, or on a new SQLite file in a temporary folder."""
    folder = None
    if not database_url:
        folder = Path(tempfile.mkdtemp(prefix="referrals-bench-"))
        database_url = f"sqlite:///{folder / 'bench.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAP_TILES_URL": "",
        }
    )
    return app, folder


def prepare(app: Flask, referrals: int = 0, seed: int = 1) -> None:
    """Migrate, load the reference data and the demo directory (and referrals)."""
    with app.app_context():
        upgrade()
        load_reference(db.session)
        db.session.commit()
        load_demo(db.session, referrals=referrals, seed=seed, as_of=dt.date.today())
        db.session.commit()

"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from referrals import create_app

app = create_app()

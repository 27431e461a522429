"""Alembic migrations of the campaign database (run by :mod:`knowable.campaign._store`)."""

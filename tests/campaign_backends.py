"""The database backends the campaign tests run on: a SQLite file, and a real PostgreSQL.

PostgreSQL runs when ``KNOWABLE_TEST_POSTGRES_URL`` names a server where the
user may create databases (``.ci/postgres.sh`` starts one and prints the URL);
each test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_ENV = "KNOWABLE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (see .ci/postgres.sh)")
    pytest.importorskip("psycopg", reason="needs knowable[postgres] (psycopg)")
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "campaign.sqlite")
        return
    import sqlalchemy as sa

    admin_url = _postgres_url()
    name = f"knowable_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (sorted), to show that a refused write changed nothing."""
    import sqlalchemy as sa

    from knowable.campaign._store import make_engine

    engine = make_engine(url)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in sorted(sa.inspect(conn).get_table_names()):
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted(tuple(map(repr, r)) for r in rows)
    engine.dispose()
    return out

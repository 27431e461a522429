"""Opening a campaign database: URLs, engines, transactions and schema migrations.

A campaign lives in any database SQLAlchemy reaches: a plain path means a SQLite
file, anything with ``://`` is an SQLAlchemy URL (``postgresql+psycopg://...``).
Every write runs in one transaction that first takes the campaign's write lock
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the single
``campaign`` row on PostgreSQL and others), so concurrent writers queue and a
killed process leaves either all of its write or none of it.

The schema is created and upgraded by Alembic (revisions under
``migrations/versions``), run programmatically on the same connection. A
database stamped with a revision this version does not know (made by a newer
knowable) is refused before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ._schema import SCHEMA_HEAD, campaign

__all__ = ["database_url", "make_engine", "read_transaction", "schema_revision", "upgrade_schema"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(db: str | Path) -> str:
    """Turn a path or URL into an SQLAlchemy URL.

    Parameters
    ----------
    db : str or pathlib.Path
        A file path (SQLite) or an SQLAlchemy URL containing ``://``.

    Returns
    -------
    str
        The URL (``sqlite:///<absolute path>`` for a path).
    """
    if isinstance(db, Path) or "://" not in str(db):
        path = Path(db).expanduser().resolve()
        return f"sqlite:///{path}"
    return str(db)


def make_engine(db: str | Path) -> sa.Engine:
    """Create an engine whose transactions are real and whose writes can lock.

    Parameters
    ----------
    db : str or pathlib.Path
        See :func:`database_url`.

    Returns
    -------
    sqlalchemy.Engine
    """
    url = database_url(db)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as err:
        raise ValueError(f"{url!r} is neither a file path nor a database URL.") from err
    if parsed.get_backend_name() == "sqlite":
        # pysqlite's own transaction handling defers BEGIN and skips it for DDL;
        # take control (SQLAlchemy's documented recipe) so that BEGIN happens
        # when SQLAlchemy begins, and writers take the lock up front.
        engine = sa.create_engine(url, connect_args={"timeout": 600.0}, poolclass=sa.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get("knowable_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        return sa.create_engine(url, poolclass=sa.NullPool)
    except ModuleNotFoundError as err:
        raise ImportError(
            f"the database driver for {parsed.drivername!r} is not installed ({err.name}); "
            "for PostgreSQL install knowable[postgres]."
        ) from err


@contextmanager
def read_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A read-only transaction (rolled back at the end).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The campaign's engine.

    Yields
    ------
    sqlalchemy.Connection
    """
    with engine.connect() as conn, conn.begin() as tx:
        yield conn
        tx.rollback()


@contextmanager
def write_transaction(engine: sa.Engine, *, lock: bool = True) -> Iterator[sa.Connection]:
    """One write transaction, committed on success and rolled back on any error.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The campaign's engine.
    lock : bool
        Lock the ``campaign`` row first (all writers of an existing campaign do).

    Yields
    ------
    sqlalchemy.Connection
    """
    with engine.connect() as conn:
        conn = conn.execution_options(knowable_write=True)
        with conn.begin():
            if lock and engine.dialect.name != "sqlite":
                conn.execute(sa.select(campaign.c.id).with_for_update()).all()
            yield conn


def schema_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision stamped in the database, or None when there is none.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection.

    Returns
    -------
    str or None
    """
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) != 1:
        raise ValueError(f"the database has {len(rows)} schema revisions stamped; expected one.")
    return str(rows[0])


def _alembic_config(conn: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def known_revisions() -> set[str]:
    """Every schema revision this version of knowable knows.

    Returns
    -------
    set of str
    """
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(_MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions()}


def check_revision(revision: str | None, where: str) -> None:
    """Refuse a database made by a newer knowable (an unknown revision) or by nothing.

    Parameters
    ----------
    revision : str or None
        From :func:`schema_revision`.
    where : str
        The database, for the message.
    """
    from knowable import __version__

    if revision is None:
        raise ValueError(
            f"{where} holds no knowable campaign; create one with `knowable campaign init`."
        )
    if revision not in known_revisions():
        raise ValueError(
            f"{where} was written by a newer knowable (schema revision {revision!r} is unknown "
            f"to knowable {__version__}); upgrade knowable to open it."
        )


def upgrade_schema(conn: sa.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_HEAD` on ``conn`` (inside its transaction).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection.
    """
    from alembic import command

    command.upgrade(_alembic_config(conn), SCHEMA_HEAD)

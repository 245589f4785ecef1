"""jobtrend.db.ensure_sources, on SQLite and PostgreSQL: the ids of the sources a crawl names, in order, with the
ones not stored created once (a crawl of a board that is not configured)."""

from __future__ import annotations

from sqlalchemy import func, select

from jobtrend.db import ensure_source, ensure_sources, session_factory
from jobtrend.models import Source


def test_ids_come_back_in_order_and_missing_sources_are_created_once(engine):
    with session_factory(engine).begin() as session:
        stored = ensure_source(session, "ashby", "acme", "Acme")
    wanted = [("greenhouse", "beta", "Beta"), ("ashby", "acme", "ignored"), ("ashby", "gamma", None),
              ("lever", "acme", None)]
    with session_factory(engine).begin() as session:
        ids = ensure_sources(session, wanted)
    with session_factory(engine).begin() as session:
        again = ensure_sources(session, list(reversed(wanted)))
        rows = {(s.kind, s.key): s for s in session.scalars(select(Source))}
        count = session.scalar(select(func.count()).select_from(Source))
        assert count == 4 and len(set(ids)) == 4
        assert ids[1] == stored and again == list(reversed(ids))
        assert [rows[(kind, key)].id for kind, key, _ in wanted] == ids
        assert rows[("greenhouse", "beta")].company == "Beta" and rows[("ashby", "acme")].company == "Acme"
        assert ensure_sources(session, []) == []

"""Exports for analysts: the ``posting_facts`` and ``weekly_framework_share`` views as CSV or Parquet files.

Rows are streamed from a read-only connection in batches (a server-side cursor on PostgreSQL), so memory
stays flat however large the view; the file is written through :func:`jobtrend.files.atomic_output` (a
temporary file beside it, fsynced and renamed into place only when complete), so a failed export never leaves a
half-written file. The view is reflected, so its columns keep their types (a DATE is a date on SQLite too) in
both formats. A CSV text cell a spreadsheet would run as a formula gets a leading ``'``
(:func:`jobtrend.output.formula_safe`) unless ``raw_csv``. Parquet needs pyarrow (``pip install -e
'.[parquet]'``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

try:  # the optional [parquet] extra; without it `export --format parquet` says how to install it
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - depends on the installed extras
    pa = pq = None
from sqlalchemy import Date, MetaData, Table, inspect, literal, select, types
from sqlalchemy.engine import Connection

from jobtrend.db import make_engine
from jobtrend.files import WriteFailed, atomic_output
from jobtrend.output import formula_safe, plain

VIEWS = {"postings": "posting_facts", "trends": "weekly_framework_share"}
EXPORT_FORMATS = ("csv", "parquet")
WEEK_COLUMNS = ("week", "period_start", "posted_week")
BATCH_SIZE = 5000
# the views' 0/1 flags (0/1 integers so SQL reads the same on both databases) are booleans in Parquet, and
# posting_facts.frameworks (comma-separated slugs, for SQL LIKE) a list of slugs
FLAG_COLUMNS = frozenset({"remote", "is_open", "has_description", "is_ai_role", "enabled"})
LIST_COLUMNS = frozenset({"frameworks"})
PARQUET_HINT = "Parquet export needs pyarrow: pip install -e '.[parquet]'"


class ExportError(RuntimeError):
    """The export cannot run as asked (missing view, unknown option, pyarrow not installed)."""


@dataclass(frozen=True)
class ExportResult:
    view: str
    rows: int
    columns: tuple[str, ...]
    path: Path


class RowFilter(Protocol):
    """Conditions on a view's posting columns (``analysis.filters.PostingFilter``: remote, location, company)."""

    @property
    def empty(self) -> bool: ...

    def clauses(self, postings) -> list: ...


def export(url: str, what: str, fmt: str, out: Path, *, since: dt.date | None = None, cohort: str | None = None,
           batch_size: int = BATCH_SIZE, raw_csv: bool = False, posting_filter: RowFilter | None = None
           ) -> ExportResult:
    """Write the rows of the ``what`` view (``postings`` or ``trends``) to ``out`` as ``fmt``; return what
    was written. ``since`` keeps weeks from that Monday on; ``cohort`` keeps one cohort (trends only);
    ``posting_filter`` keeps the postings it selects (postings only: its ``clauses`` are applied to the
    ``posting_facts`` view); ``raw_csv`` writes CSV text cells as they are (no ``'`` before a formula). A file
    that cannot be written is an ExportError (``cannot write FILE: reason``), the previous file kept."""
    if what not in VIEWS:
        raise ExportError(f"unknown export {what!r}: choose {' or '.join(VIEWS)}")
    if posting_filter is not None and not posting_filter.empty and what != "postings":
        raise ExportError("--remote, --location and --company filter postings: only `jobtrend export postings` "
                          "has them")
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}: choose {' or '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        _require_pyarrow()
    view = VIEWS[what]
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"no folder {out.parent} to write {out.name} into")
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            table = _reflect(conn, view)
            query = select(table)
            clauses = _filters(table, since, cohort)
            if posting_filter is not None:
                clauses += posting_filter.clauses(table)
            query = query.where(*clauses) if clauses else query
            order = [*_week_columns(table), *table.primary_key.columns]
            query = query.order_by(*order) if order else query
            columns = tuple(c.name for c in table.columns)
            schema = _arrow_schema(table, conn) if fmt == "parquet" else None
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
            batches = (list(map(tuple, part)) for part in result.partitions(batch_size))
            try:
                if schema is not None:
                    with atomic_output(out) as fh:
                        rows = _write_parquet(fh, schema, batches)
                else:
                    with atomic_output(out, encoding="utf-8", newline="") as fh:
                        rows = _write_csv(fh, columns, batches, raw_csv)
            except WriteFailed as exc:
                raise ExportError(str(exc)) from None
            result.close()
            conn.rollback()
    finally:
        engine.dispose()
    return ExportResult(view, rows, columns, out)


def _reflect(conn: Connection, view: str) -> Table:
    inspector = inspect(conn)
    if view not in inspector.get_view_names() and view not in inspector.get_table_names():
        raise ExportError(f"the database has no {view} view: run `jobtrend init` to migrate it")
    return Table(view, MetaData(), autoload_with=conn)


def _week_columns(table: Table) -> list:
    return [table.c[name] for name in WEEK_COLUMNS if name in table.c][:1]


def _filters(table: Table, since: dt.date | None, cohort: str | None) -> list:
    clauses = []
    if since is not None:
        week = _week_columns(table)
        if not week:
            raise ExportError(f"--since: {table.name} has no week column ({', '.join(WEEK_COLUMNS)})")
        clauses.append(week[0] >= _typed(since, week[0]))
    if cohort is not None:
        if "cohort" not in table.c:
            raise ExportError(f"--cohort: {table.name} has no cohort column")
        clauses.append(table.c.cohort == cohort)
    return clauses


def _typed(value: dt.date, column):
    return literal(value, Date) if isinstance(column.type, Date | types.NullType) else literal(value.isoformat())


def _write_csv(fh: IO[str], columns: Sequence[str], batches: Iterator[list[tuple]], raw: bool) -> int:
    rows = 0
    writer = csv.writer(fh)
    writer.writerow(columns)
    for batch in batches:
        writer.writerows([_csv_value(v, raw) for v in row] for row in batch)
        rows += len(batch)
    return rows


def _csv_value(value, raw: bool):
    value = ",".join(str(v) for v in value) if isinstance(value, list | tuple) else plain(value)
    return value if raw else formula_safe(value)


def _require_pyarrow():
    if pa is None:
        raise ExportError(PARQUET_HINT)


def _arrow_type(column, conn: Connection):
    """The Arrow type of a reflected column: a 0/1 flag is a boolean, the frameworks list a list of strings;
    otherwise from the column's type, or for an untyped one (an SQLite expression) from its first value."""
    if column.name in FLAG_COLUMNS:
        return pa.bool_()
    if column.name in LIST_COLUMNS:
        return pa.list_(pa.string())
    kind = column.type
    for sa_type, arrow in ((types.Boolean, pa.bool_()), (types.Integer, pa.int64()), (types.Float, pa.float64()),
                           (types.Numeric, pa.float64()), (types.DateTime, pa.timestamp("us", tz="UTC")),
                           (types.Date, pa.date32()), (types.ARRAY, pa.list_(pa.string())),
                           (types.String, pa.string())):
        if isinstance(kind, sa_type):
            return arrow
    sample = conn.execute(select(column).where(column.is_not(None)).limit(1)).scalar()
    if isinstance(sample, bool):
        return pa.bool_()
    if isinstance(sample, int):
        return pa.int64()
    if isinstance(sample, float | decimal.Decimal):
        return pa.float64()
    if isinstance(sample, list | tuple):
        return pa.list_(pa.string())
    return pa.string()


def _arrow_value(value, arrow_type):
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if pa.types.is_boolean(arrow_type):
        return bool(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None and pa.types.is_timestamp(arrow_type):
        return value.replace(tzinfo=dt.UTC)
    if pa.types.is_string(arrow_type) and not isinstance(value, str):
        return str(plain(value))
    if pa.types.is_list(arrow_type) and isinstance(value, str):
        return [part for part in value.split(",") if part]
    return value


def _arrow_schema(table: Table, conn: Connection):
    return pa.schema([(column.name, _arrow_type(column, conn)) for column in table.columns])


def _write_parquet(fh: IO[bytes], schema, batches: Iterator[list[tuple]]) -> int:
    rows = 0
    with pq.ParquetWriter(fh, schema) as writer:
        for batch in batches:
            arrays = [pa.array([_arrow_value(row[i], field.type) for row in batch], type=field.type)
                      for i, field in enumerate(schema)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(batch)
    return rows

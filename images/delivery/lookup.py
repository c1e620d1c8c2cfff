"""The one query a CDN request makes, compiled once per database connection.

Every delivery request (cache hits included) must find the image alive and READY, so a
deleted image answers 404 at once. Building and compiling that queryset costs the ORM
~1.5 ms, ten times the query itself, and a warm hit is otherwise a stat and a sendfile. So
the query is compiled once per connection with placeholder ids and its SQL re-run with each
request's ids; rows still go through the ORM's converters and ``Model.from_db``, so the
instances are what ``.only(...)`` would give (fields not fetched load on access).

It selects by the three ids (``Image.objects.addressed_by``) and checks READY and not
deleted on the row, which is ``Image.objects.deliverable``: with ``status = ?`` bound in
the joined query, SQLite re-plans the statement on every run (its plan may depend on the
value), which cost 30-100 µs; a row found by primary key is checked as cheaply here.

On SQLite the query runs in-process, so Django's cursor was most of its cost: 55 µs per
run against 14 µs for sqlite3's own execute and fetchone, mostly the SQLite cursor wrapper
turning ``%s`` into ``?`` with a regex over the 1.3 KB SQL on every execute, then the
CursorWrapper and error-wrapping layers. So when nothing would see the query (it is not
logged, e.g. for DEBUG or ``django_assert_num_queries``, and no execute wrapper is
installed), the ``?`` form made once at compile time runs on the sqlite3 connection itself,
after the checks Django's cursor makes first; sqlite3's errors still become Django's. The
row is the same: Django registers its type converters with sqlite3 and opens the connection
with ``detect_types``, which a bare execute honours too. The ids are prepared by the rule
``UUIDField.get_db_prep_value`` applies, decided once (9 µs for three calls per request).
Measured on SQLite: the fetch takes 19 µs (15 of them sqlite3's), ``find_deliverable``
60 µs where it took 100.

On PostgreSQL, Django's client-side binding sends the query as text, which the server
parses and plans on every run: 490 µs per lookup over loopback, 290 µs of it the
backend's CPU, more than the rest of a cache hit. Under the same conditions (nothing
watching) the query runs as a protocol-level prepared statement on psycopg's own
server-side binding cursor, planned once per connection: 190 µs, 100 µs of backend CPU
(with psycopg 3; under psycopg2, and on other databases, Django's cursor runs it). Django's
cursors never prepare (its ClientCursor cannot), so no other query changes.
Connection poolers in transaction mode carry protocol-level prepared statements only when
configured to (PgBouncer 1.21+, ``max_prepared_statements``); elsewhere set
IMGWIRE_DATABASE_PREPARED_LOOKUP=false. Should a prepared run fail anyway outside a
transaction (a pooler that lost the statement, a plan invalidated by a migration), that
connection goes back to Django's cursor and the request is answered all the same.
"""

import logging
import re
import uuid
import weakref
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models.base import ModelState

from environments.models import BillingPlan, Environment, Organization
from images.models import Image, ImageStatus

# What delivery reads (plan_delivery, the render's source info, the quota check), beside
# the ids, which are the request's own: the row matched them.
FETCHED = {
    Image: (
        "mime_type",
        "status",
        "hash_sha256",
        "width",
        "height",
        "is_animated",
        "has_alpha",
        "orientation",
        "deleted_at",
        "version",
        # A private image's unsigned requests answer 404 and gravity=custom crops around
        # its focus area: both are read on every request, so they ride in this one query.
        "is_private",
        "custom_coordinates",
    ),
    Organization: (
        "billing_plan_id",
        "subscription_status",
        "blocked",
        "transformations_enforcement_mode",
        "transfer_bytes_enforcement_mode",
        "current_quota_period_start_at",
        "current_quota_period_end_at",
    ),
    BillingPlan: ("transfer_bytes_limit", "transformations_limit"),
}
PATHS = {
    Image: "",
    Organization: "environment__organization__",
    BillingPlan: "environment__organization__billing_plan__",
}
# Placeholder ids whose prepared forms are found in the compiled parameters.
_PLACEHOLDERS = (
    uuid.UUID(int=0x1D0000000000000000000000000001),
    uuid.UUID(int=0x1D0000000000000000000000000002),
    uuid.UUID(int=0x1D0000000000000000000000000003),
)


@dataclass(frozen=True)
class _Id:
    index: int  # where (organization, environment, image) id number ``index`` goes


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # the compiled parameters, with an _Id where a request's id goes
    converters: tuple  # (position, converters, expression)
    columns: dict  # model -> (field names in concrete order, their positions in a row)
    sqlite_sql: str | None  # ``sql`` with sqlite3's ``?`` placeholders; None off SQLite
    prepared_sql: str | None  # ``sql`` to prepare, on PostgreSQL through psycopg 3 only
    ids_as_hex: bool  # a UUID id is sent as its hex string (no native UUID column type)


_compiled: "weakref.WeakKeyDictionary[object, _Compiled]" = weakref.WeakKeyDictionary()
# psycopg connections (database sessions) on which a prepared run failed: they use
# Django's cursor from then on.
_unprepared: "weakref.WeakKeyDictionary[object, bool]" = weakref.WeakKeyDictionary()
_NOT_PREPARED = object()  # no row fetched yet: Django's cursor is to run the query
# A prepare threshold no count reaches: only executes that ask (prepare=True) prepare.
_ONLY_WHEN_ASKED = 2**62
logger = logging.getLogger(__name__)


def _compile(connection) -> _Compiled:
    columns, names = {}, []
    for model, prefix in PATHS.items():
        wanted = set(FETCHED[model])
        fields = tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)
        columns[model] = (fields, tuple(range(len(names), len(names) + len(fields))))
        names += [prefix + name for name in fields]
    queryset = (
        Image.objects.using(connection.alias)
        .addressed_by(*_PLACEHOLDERS)
        .order_by()
        .values_list(*names)
    )
    compiler = queryset.query.get_compiler(connection=connection)
    sql, compiled_params = compiler.as_sql()
    # Rows are read by position, so the column aliases go: half the SQL, whose every
    # character Django's SQLite wrapper scans for placeholders on every run.
    select, from_, rest = sql.partition(" FROM ")
    sql = re.sub(r' AS "[^"]*"', "", select) + from_ + rest
    prepared = [Image._meta.pk.get_db_prep_value(p, connection) for p in _PLACEHOLDERS]
    params = tuple(_Id(prepared.index(p)) if p in prepared else p for p in compiled_params)
    if sorted(p.index for p in params if isinstance(p, _Id)) != [0, 1, 2]:
        raise RuntimeError("the delivery lookup did not compile to one parameter per id")
    ids_as_hex = not connection.features.has_native_uuid_field
    if _prepare_ids(_PLACEHOLDERS, ids_as_hex, connection) != prepared:
        raise RuntimeError("the delivery lookup's ids are not prepared as their field does")
    sqlite_sql = None
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

        # What SQLiteCursorWrapper.convert_query does to the SQL on every execute, once.
        sqlite_sql = FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
    prepared_sql = None
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        prepared_sql = sql if is_psycopg3 else None
    expressions = [select[0] for select in compiler.select[: len(names)]]
    converters = tuple(
        (position, tuple(convs), expression)
        for position, (convs, expression) in compiler.get_converters(expressions).items()
    )
    return _Compiled(sql, params, converters, columns, sqlite_sql, prepared_sql, ids_as_hex)


def _prepare_ids(values, as_hex: bool, connection) -> list:
    """``UUIDField.get_db_prep_value`` for each id: a UUID itself where the database has a
    UUID type, else its hex; anything else (a string, None) goes through the field."""
    field = Image._meta.pk
    return [
        (value.hex if as_hex else value)
        if isinstance(value, uuid.UUID)
        else field.get_db_prep_value(value, connection)
        for value in values
    ]


def _fetch_on_sqlite(connection, sql: str, params: list):
    """The row, from sqlite3's own execute, behind the checks Django's cursor makes first
    (Django 5.2: BaseDatabaseWrapper._cursor and _prepare_cursor, CursorWrapper._execute),
    in their order. Not mirrored: the warning for queries run before the apps are ready
    (a request comes later) and the debug/execute-wrapper layers (the caller has ruled
    them out)."""
    _checked(connection)
    with connection.wrap_database_errors:  # sqlite3's errors raised as django.db's
        cursor = connection.connection.execute(sql, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()  # as Django's cursor is on leaving its block


def _checked(connection) -> None:
    """What Django's cursor() and execute() check before a query (Django 5.2:
    BaseDatabaseWrapper._cursor and _prepare_cursor, CursorWrapper._execute), in order."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()  # async_unsafe: refused inside an event loop, as cursor()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()


def _fetch_prepared(connection, sql: str, params: list):
    """The row, from a prepared statement on psycopg's server-side binding cursor, or
    _NOT_PREPARED when this connection cannot run one (the caller then uses Django's
    cursor)."""
    import psycopg  # prepared_sql is only set where Django runs on psycopg 3

    _checked(connection)
    session = connection.connection
    if session in _unprepared:
        return _NOT_PREPARED
    if session.prepare_threshold is None:  # Django's default: nothing is ever prepared
        session.prepare_threshold = _ONLY_WHEN_ASKED
    try:
        with connection.wrap_database_errors, psycopg.Cursor(session) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()
    except DatabaseError:
        if connection.in_atomic_block:  # the transaction is aborted: nothing to retry in
            raise
        _unprepared[session] = True
        logger.warning(
            "delivery lookup: a prepared statement failed on this connection, which now "
            "uses Django's cursor (behind a pooler without prepared statement support, set "
            "IMGWIRE_DATABASE_PREPARED_LOOKUP=false)",
            exc_info=True,
        )
        return _NOT_PREPARED


def find_deliverable(organization_id, environment_id, image_id, using=DEFAULT_DB_ALIAS):
    """The live READY image these ids (UUIDs) name, with environment, organization, plan."""
    ids = (organization_id, environment_id, image_id)
    connection = connections[using]
    compiled = _compiled.get(connection)
    if compiled is None:
        compiled = _compiled[connection] = _compile(connection)
    prepared = _prepare_ids(ids, compiled.ids_as_hex, connection)
    params = [prepared[p.index] if isinstance(p, _Id) else p for p in compiled.params]
    row = _NOT_PREPARED
    if not (connection.queries_logged or connection.execute_wrappers):
        if compiled.sqlite_sql is not None:
            row = _fetch_on_sqlite(connection, compiled.sqlite_sql, params)
        elif compiled.prepared_sql is not None and settings.IMGWIRE_DATABASE_PREPARED_LOOKUP:
            row = _fetch_prepared(connection, compiled.prepared_sql, params)
    if row is _NOT_PREPARED:  # seen by query logging and execute wrappers, as any other query
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for position, converters, expression in compiled.converters:
        for converter in converters:
            row[position] = converter(row[position], expression, connection)
    fetched = {
        model: dict(zip(fields, (row[p] for p in positions), strict=True))
        for model, (fields, positions) in compiled.columns.items()
    }
    image = fetched[Image]
    if image["status"] != ImageStatus.READY or image["deleted_at"] is not None:
        return None
    organization = _loaded(Organization, using, id=organization_id, **fetched[Organization])
    plan_id = organization.billing_plan_id
    plan = (
        None if plan_id is None else _loaded(BillingPlan, using, id=plan_id, **fetched[BillingPlan])
    )
    environment = _loaded(Environment, using, id=environment_id, organization_id=organization_id)
    found = _loaded(Image, using, id=image_id, environment_id=environment_id, **image)
    # What select_related would have cached: relations read without a query.
    organization._state.fields_cache["billing_plan"] = plan
    environment._state.fields_cache["organization"] = organization
    found._state.fields_cache["environment"] = environment
    return found


def _loaded(model, using, **values):
    """An instance as loaded from the database with only these fields, the others deferred
    (loaded on access). Built as unpickling builds one, without __init__: Model.from_db's
    __init__ and pre/post_init signals were a third of a cache hit's lookup."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = using
    return instance

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
"""

import re
import uuid
import weakref
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
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


_compiled: "weakref.WeakKeyDictionary[object, _Compiled]" = weakref.WeakKeyDictionary()


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
    expressions = [select[0] for select in compiler.select[: len(names)]]
    converters = tuple(
        (position, tuple(convs), expression)
        for position, (convs, expression) in compiler.get_converters(expressions).items()
    )
    return _Compiled(sql, params, converters, columns)


def find_deliverable(organization_id, environment_id, image_id, using=DEFAULT_DB_ALIAS):
    """The live READY image these ids (UUIDs) name, with environment, organization, plan."""
    ids = (organization_id, environment_id, image_id)
    connection = connections[using]
    compiled = _compiled.get(connection)
    if compiled is None:
        compiled = _compiled[connection] = _compile(connection)
    prepared = [Image._meta.pk.get_db_prep_value(value, connection) for value in ids]
    params = [prepared[p.index] if isinstance(p, _Id) else p for p in compiled.params]
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

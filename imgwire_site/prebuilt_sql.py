"""Reads and inserts that skip the ORM's query compiler, for a few hot statements.

Why: the ORM compiles every query anew, and on the 2-core VM compiling the image with its
environment and custom domain (60-odd columns, two joins) cost ~0.8 ms of CPU against
~0.16 ms for running the same SQL. The webhook outbox pays that kind of cost inside the
READY transaction (re-reading the image, inserting the event and its deliveries), and a
delivery batch when it reads its deliveries with their events and subscriptions
(docs/benchmarks.md, Webhooks). The CDN lookup does the same for its one query, with more
to it (images/delivery/lookup.py).

``JoinedRead`` builds the SELECT the ORM would (every concrete column, joins for the named
relations) once per process and database, and makes the instances the way the ORM does:
each value through the converters the ORM would apply, ``Model.from_db``, the related
instances in the relation caches, so ``image.environment.custom_domain`` asks nothing more
of the database. Only plain relations, which is all these reads need: a forward foreign
key or one-to-one (joined INNER when not nullable) and a reverse one-to-one (joined LEFT;
a missing row caches None, as select_related does).

``insert_all`` is ``bulk_create`` for models whose primary key has a default (no key to
read back), or whose keys the caller will not need (``without_keys``: the database numbers
the rows, the instances keep no key and are not to be saved): each value through the
field's ``pre_save`` and ``get_db_prep_save``, as the ORM's insert does, then one INSERT.
"""

from django.db import connections, models


def placeholders(count: int) -> str:
    """``%s, %s, …``: one parameter per value of an IN list or a row."""
    return ", ".join(["%s"] * count)


class _Join:
    def __init__(self, model, alias: str, parent: "_Join | None", relation):
        self.model, self.alias, self.parent, self.relation = model, alias, parent, relation
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)


class JoinedRead:
    """``JoinedRead(Image, "environment", "environment__custom_domain").by_pks(ids,
    environment_id=...)``: the instances whose primary key is in ``ids`` (and whose own
    columns equal the keyword arguments), in no particular order."""

    def __init__(self, model, *relations: str):
        self.model, self.relations = model, relations
        self._built: dict[str, tuple] = {}

    def _joins(self) -> list[_Join]:
        joins = {"": _Join(self.model, "t0", None, None)}
        for path in self.relations:
            parent_path, _, name = path.rpartition("__")
            parent = joins[parent_path]  # a relation names its parent first
            relation = parent.model._meta.get_field(name)
            joins[path] = _Join(relation.related_model, f"t{len(joins)}", parent, relation)
        return list(joins.values())

    def _build(self, connection) -> tuple:
        quote = connection.ops.quote_name
        joins = self._joins()
        columns, converters, sql_joins = [], [], []
        for join in joins:
            for field in join.fields:
                columns.append(f"{join.alias}.{quote(field.column)}")
                col = field.get_col(join.alias)
                chain = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                converters.append((col, chain))
            if join.parent is None:
                continue
            relation = join.relation
            if relation.is_relation and relation.concrete:  # forward: the parent holds the key
                kind = "LEFT OUTER JOIN" if relation.null else "INNER JOIN"
                on = (
                    f"{join.parent.alias}.{quote(relation.column)} = "
                    f"{join.alias}.{quote(relation.target_field.column)}"
                )
            else:  # reverse one-to-one: the joined row holds the key
                kind = "LEFT OUTER JOIN"
                on = (
                    f"{join.alias}.{quote(relation.field.column)} = "
                    f"{join.parent.alias}.{quote(relation.field.target_field.column)}"
                )
            sql_joins.append(f"{kind} {quote(join.model._meta.db_table)} {join.alias} ON {on}")
        # Only names from the models' _meta are formatted in: every value is a parameter.
        table = quote(self.model._meta.db_table)
        select = f"SELECT {', '.join(columns)} FROM {table} t0 {' '.join(sql_joins)}"  # noqa: S608
        return select, joins, converters

    def by_pks(self, pks, *, using: str = "default", **equals) -> list[models.Model]:
        pks = list(pks)
        if not pks:
            return []
        connection = connections[using]
        if using not in self._built:
            self._built[using] = self._build(connection)
        select, joins, converters = self._built[using]
        quote, meta = connection.ops.quote_name, self.model._meta
        where = [f"t0.{quote(meta.pk.column)} IN ({placeholders(len(pks))})"]
        params = [meta.pk.get_db_prep_value(pk, connection) for pk in pks]
        for attname, value in equals.items():
            field = meta.get_field(attname)  # an attname (environment_id) finds its field
            where.append(f"t0.{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(value, connection))
        with connection.cursor() as cursor:
            cursor.execute(f"{select} WHERE {' AND '.join(where)}", params)
            rows = cursor.fetchall()
        return [self._instances(row, joins, converters, using, connection) for row in rows]

    @staticmethod
    def _instances(row, joins, converters, using, connection):
        values = list(row)
        for index, (col, chain) in enumerate(converters):
            for convert in chain:
                values[index] = convert(values[index], col, connection)
        made, start = {}, 0
        for join in joins:
            own = values[start : start + len(join.fields)]
            start += len(join.fields)
            instance = None
            if own[join.pk_index] is not None:  # None: a LEFT JOIN found no row
                instance = join.model.from_db(using, join.attnames, own)
            made[join.alias] = instance
            if join.parent is not None:
                parent = made[join.parent.alias]
                if parent is not None:
                    join.relation.set_cached_value(parent, instance)
        return made["t0"]


def insert_all(objs, *, using: str = "default", without_keys: bool = False) -> None:
    """Insert ``objs`` (instances of one model, not saved yet) in one statement."""
    if not objs:
        return
    model = type(objs[0])
    pk = model._meta.pk
    numbered = isinstance(pk, models.AutoField) or not pk.has_default()
    if numbered and not without_keys:
        raise ValueError(f"{model.__name__}'s key is not known before the insert")
    connection = connections[using]
    fields = [
        f for f in model._meta.concrete_fields if not f.generated and not (numbered and f is pk)
    ]
    quote = connection.ops.quote_name
    row = f"({placeholders(len(fields))})"
    params = []
    for obj in objs:
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    # Only names from the model's _meta are formatted in: every value is a parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([row] * len(objs))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    if not numbered:  # a row without its key in hand cannot be updated through save()
        for obj in objs:
            obj._state.adding, obj._state.db = False, using

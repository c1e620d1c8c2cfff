"""The delivery view parses each query string once: one shared Transform, errors every time."""

import dataclasses
from fractions import Fraction
from types import MappingProxyType

import pytest

from images.delivery import views
from images.transform import parse_transform
from tests import imagegen
from tests.delivery.test_delivery_view import decoded, get, path_of
from tests.images.test_transform_params import OBJECT_FORMS, VALID, needs_source
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo_path(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(width=400, height=300), "image/jpeg", "a.jpg")
    stub_worker()
    return path_of(owner.server.get(f"/api/v1/images/{image_id}").json()["cdn_url"])


@pytest.fixture
def planned(monkeypatch):
    """The Transform each request was planned with."""
    transforms = []
    plan_delivery = views.plan_delivery

    def spy(image, transform, accept):
        transforms.append(transform)
        return plan_delivery(image, transform, accept)

    monkeypatch.setattr(views, "plan_delivery", spy)
    return transforms


@pytest.fixture
def parses(monkeypatch):
    """The query pairs each parse_transform call of the view was given."""
    calls = []

    def spy(query, preset):
        calls.append(query)
        return parse_transform(query, preset)

    monkeypatch.setattr(views, "parse_transform", spy)
    views._parsed.cache_clear()
    yield calls
    views._parsed.cache_clear()  # nothing parsed by the spy outlives the test


def test_equal_query_strings_give_the_identical_transform(photo_path, planned, parses):
    first = get(f"{photo_path}?width=100&format=png")
    again = get(f"{photo_path}?width=100&format=png")
    same_meaning = get(f"{photo_path}?format=png&w=100")
    assert [r.status_code for r in (first, again, same_meaning)] == [200, 200, 200]
    assert decoded(first).size == decoded(again).size == (100, 75)  # the render got the pairs
    assert planned[0] is planned[1]
    assert planned[2] is not planned[0] and planned[2] == planned[0]
    assert parses == [(("width", "100"), ("format", "png")), (("format", "png"), ("w", "100"))]
    get(f"{photo_path}@small?width=100&format=png")
    assert planned[3].preset == "small" and planned[3] != planned[0]


def test_an_invalid_query_answers_the_same_400_every_time(photo_path, parses):
    answers = [get(f"{photo_path}?width=0&format=png") for _ in range(3)]
    assert {r.status_code for r in answers} == {400}
    assert answers[0].json()["parameter"] == "width"
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert len(parses) == 3  # an error is not remembered: each request parses and fails


def test_an_unknown_preset_answers_400_every_time(photo_path, parses):
    answers = [get(f"{photo_path}@huge?width=10") for _ in range(2)]
    assert [r.status_code for r in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["parameter"] == "preset"


def test_long_queries_are_parsed_every_time_and_too_long_ones_not_at_all(photo_path, parses):
    text = "a" * (views.MEMO_QUERY_LENGTH + 1 - len("watermark_text=&watermark_size=10"))
    long_query = f"watermark_text={text}&watermark_size=10"
    assert len(long_query) == views.MEMO_QUERY_LENGTH + 1
    for _ in range(2):  # answered 304 before any render
        assert get(f"{photo_path}?{long_query}", HTTP_IF_NONE_MATCH="*").status_code == 304
    assert len(parses) == 2
    too_long = get(f"{photo_path}?width=1{'0' * views.MAX_QUERY_LENGTH}")
    assert too_long.status_code == 414
    assert len(parses) == 2


def _shareable(value) -> bool:
    if value is None or isinstance(value, bool | int | float | str | Fraction):
        return True
    if isinstance(value, tuple):
        return all(_shareable(item) for item in value)
    if dataclasses.is_dataclass(value):
        return value.__dataclass_params__.frozen and all(
            _shareable(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    return False


@pytest.mark.django_db(transaction=False)
def test_every_parameter_parses_to_values_requests_can_share():
    queries = [[(name, raw)] for name, (raw, _) in VALID.items()]
    queries += [[(name, raw)] for name, forms in OBJECT_FORMS.items() for f in forms for raw in f]
    for query in queries:
        transform = parse_transform(needs_source(query[0][0]) + query, None)
        assert isinstance(transform.params, MappingProxyType)
        assert all(_shareable(value) for value in transform.params.values()), query
    for preset in ("thumbnail", "small"):
        assert all(_shareable(v) for v in parse_transform([], preset).params.values())

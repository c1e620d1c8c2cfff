"""ImageKit's transformation syntax (``?tr=`` and upload transformations) read onto
Imgwire's parameters: same canonical transform, refusals that name the parameter."""

import pytest

from images.transform import parse_transform
from images.transform.imagekit_syntax import (
    delivery_suffix,
    post_transformations,
    to_query,
    to_transform,
    translate,
)
from imgwire_site import domain
from imgwire_site.domain import Refusal
from tests.delivery.test_delivery_view import decoded, get, path_of, photo

__all__ = ["photo"]


def canonical(query, preset=None) -> str:
    return parse_transform(query, preset).canonical()


@pytest.mark.parametrize(
    ("tr", "imgwire"),
    [
        ("w-300,h-200", [("width", "300"), ("height", "200")]),
        ("w-300,h-200,c-maintain_ratio", [("w", "300"), ("h", "200"), ("resizing_type", "cover")]),
        ("w-300,h-200,c-force", [("w", "300"), ("h", "200"), ("resizing_type", "fill")]),
        ("w-300,h-200,c-at_max", [("w", "300"), ("h", "200"), ("resizing_type", "inside")]),
        ("w-300,ar-4-3", [("w", "300"), ("h", "225")]),
        ("w-100,h-100,fo-top_left", [("w", "100"), ("h", "100"), ("g", "northwest")]),
        ("w-100,h-100,fo-auto", [("w", "100"), ("h", "100"), ("g", "attention")]),
        ("w-100,h-100,fo-custom", [("w", "100"), ("h", "100"), ("g", "custom")]),
        ("cm-extract,w-50,h-40,x-10,y-20", [("crop", "10:20:50:40")]),
        (
            "cm-pad_resize,w-50,h-50,bg-red",
            [("w", "50"), ("h", "50"), ("resizing_type", "contain"), ("bg", "ff0000")],
        ),
        ("q-80,f-webp", [("quality", "80"), ("format", "webp")]),
        ("rt-90", [("rotate", "90")]),
        ("rt-N90", [("rotate", "270")]),
        ("bl-10", [("blur", "10")]),
        ("e-grayscale", [("monochrome", "true")]),
        ("e-sharpen", [("sharpen", "true")]),
        ("e-sharpen-3", [("sharpen", "3")]),
        ("fl-h_v", [("flip", "both")]),
        ("b-5_00FF00", [("extend", "5:5:5:5:00ff00")]),
        ("dpr-2,w-100", [("dpr", "2"), ("w", "100")]),
        ("bg-FF000050", [("bg", "ff000081")]),  # ImageKit's 00-99 opacity
    ],
)
def test_an_imagekit_transformation_means_the_same_as_its_imgwire_query(tr, imgwire):
    assert to_transform(tr).canonical() == canonical(imgwire)


def test_a_chained_rotation_after_a_resize_turns_the_box_with_the_picture():
    assert translate("w-300,h-200:rt-90") == [{"width": "300", "height": "200"}, {"rotate": "90"}]
    query, preset = to_query("w-300,h-200:rt-90")
    assert canonical(query) == canonical([("width", "200"), ("height", "300"), ("rotate", "90")])
    assert preset is None


def test_a_named_transformation_is_a_preset():
    assert to_query("n-ik_ml_thumbnail") == ([], "thumbnail")
    assert delivery_suffix("n-small,q-50") == "@small?quality=50"


@pytest.mark.parametrize(
    ("tr", "named"),
    [
        ("w-300,foo-2", "'foo'"),
        ("r-20", "r"),
        ("t-true", "t"),
        ("w-0.5", "w"),
        ("w-auto", "w"),
        ("w-99999", "width"),
        ("c-pad", "c"),
        ("fo-person", "fo"),
        ("rt-45", "rt"),
        ("ar-4-3", "ar"),
        ("w-10:w-20", "width"),
        ("w-10,w-20", "w"),
        ("bg-notacolour1", "bg"),
        ("n-unknown", "named transformation"),
        ("", "transformation"),
        ("w-10,,h-10", "empty"),
        ("w-10\u00e9", "ASCII"),
        ("l-text,i-Hi,l-end", "l"),
    ],
)
def test_what_imgwire_cannot_honour_is_refused_naming_the_parameter(tr, named):
    with pytest.raises(Refusal) as refused:
        to_query(tr)
    assert refused.value.code == domain.INVALID_VALUE
    assert refused.value.field == "transformation"
    assert named in refused.value.message


def test_upload_post_transformations_are_checked_and_only_images_kind_is_accepted():
    items = [
        {"type": "transformation", "value": "w-200"},
        {"type": "transformation", "value": "bg-red"},
    ]
    assert post_transformations(items) == ["w-200", "bg-red"]
    for bad in (
        [{"type": "gif-to-video"}],
        [{"type": "transformation"}],
        "w-200",
        [3],
        [{"type": "transformation", "value": "zz-1"}],
    ):
        with pytest.raises(Refusal):
            post_transformations(bad)


@pytest.mark.django_db(transaction=True)
def test_a_tr_query_is_delivered_and_shares_the_imgwire_urls_etag(photo):
    url = path_of(photo["cdn_url"])
    response = get(url + "?tr=w-100,h-50")
    assert response.status_code == 200
    assert decoded(response).size == (100, 50)
    assert response["ETag"] == get(url + "?width=100&height=50")["ETag"]


@pytest.mark.django_db(transaction=True)
def test_a_bad_tr_answers_400_naming_it_never_500(photo):
    url = path_of(photo["cdn_url"])
    for tr in ("zz-1", "w-", "w-1%00", "r-5", "w-10&tr=h-10", "n-small&width=10&width=20"):
        response = get(f"{url}?tr={tr}")
        assert response.status_code == 400, tr
        assert response.json()["error_type"] == "InvalidTransformationError"
    assert get(f"{url}@small?tr=n-large").status_code == 400

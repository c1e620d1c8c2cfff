"""Private images: unsigned 404, signed (ImageKit's scheme, imagekitio's own builder) 200,
expired or tampered 403, presets public, signed answers never cached by shared caches."""

import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from imagekitio import ImageKit
from rest_framework.test import APIClient

from domains.custom_domains import custom_domain_create
from domains.models import CustomDomain, CustomDomainStatus
from images.delivery.fastpath import DeliveryFastPath
from images.delivery.signing import delivery_url_sign, forget_secrets, sign_url
from images.models import Image
from keys.signing import signing_secret_create, signing_secret_reveal, signing_secret_rotate
from tests.delivery.test_delivery_view import content, decoded, get, path_of, photo
from tests.delivery.test_fastpath import Django, call

__all__ = ["photo"]  # the fixture, shared with test_delivery_view.py
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_kept_secrets():
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def private(owner, photo):
    Image.objects.filter(id=photo["id"]).update(is_private=True)
    signing_secret_create(environment=owner.environment)
    return photo


@pytest.fixture
def imagekit(owner):
    signing_secret_create(environment=owner.environment)
    return ImageKit(private_key=signing_secret_reveal(environment=owner.environment))


def endpoint_of(image: dict) -> str:
    return image["cdn_url"].rsplit("/", 1)[0]


def sdk_url(imagekit, image: dict, **options) -> str:
    return path_of(
        imagekit.helper.build_url(src=image["id"], url_endpoint=endpoint_of(image), **options)
    )


def test_a_private_image_without_a_signature_answers_404(private):
    url = path_of(private["cdn_url"])
    for query in ("", "?width=100", "?tr=w-100", "?width=nonsense", "@small?width=10"):
        response = get(url + query)
        assert response.status_code == 404, query
        assert response.json()["error_type"] == "ResourceNotFoundError"


def test_a_url_signed_by_imagekits_own_sdk_serves_the_private_original(private, imagekit):
    response = get(sdk_url(imagekit, private, signed=True, expires_in=300))
    assert response.status_code == 200
    assert decoded(response).size == (400, 300)
    assert response["Cache-Control"].startswith("private, max-age=")
    assert 0 < int(response["Cache-Control"].rsplit("=", 1)[1]) <= 300


def test_a_signed_imagekit_transformation_is_rendered(private, imagekit):
    url = sdk_url(imagekit, private, signed=True, transformation=[{"width": 100, "height": 50}])
    assert "?tr=w-100,h-50&ik-s=" in url  # no ik-t: never expires
    response = get(url)
    assert response.status_code == 200
    assert decoded(response).size == (100, 50)
    assert response["Cache-Control"] == "private, max-age=3600"


def test_an_expired_signed_url_answers_403_with_a_sentence(private, owner):
    secret = signing_secret_reveal(environment=owner.environment)
    url = sign_url(
        private["cdn_url"],
        endpoint=endpoint_of(private),
        secret=secret,
        expires_in=10,
        now=time.time() - 60,
    )
    response = get(path_of(url))
    assert response.status_code == 403
    assert response.json()["detail"] == "The signed URL has expired."


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.replace("w-100", "w-200"),  # another transformation
        lambda url: url.replace("ik-t=", "ik-t=1"),  # a later expiry
        lambda url: url[:-1] + ("0" if url[-1] != "0" else "1"),  # another signature
        lambda url: url.split("&ik-t")[0] + "&ik-s=zz",  # garbage
        lambda url: url + "&ik-s=abc",  # twice
        lambda url: url.replace("ik-t=", "ik-t=x"),  # not a time
    ],
)
def test_a_tampered_signed_url_answers_403_never_500(private, imagekit, tamper):
    url = sdk_url(imagekit, private, expires_in=300, transformation=[{"width": 100}])
    response = get(tamper(url))
    assert response.status_code == 403
    assert response.json()["error_type"] == "ResourceNotAuthorizedError"


def test_a_private_images_presets_stay_public(private):
    url = path_of(private["cdn_url"])
    for suffix in ("@thumbnail", "?tr=n-thumbnail", "?tr=n-ik_ml_thumbnail"):
        response = get(url + suffix)
        assert response.status_code == 200, suffix
        assert decoded(response).size == (150, 150)
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_signed_url_works_for_a_public_image_and_keeps_public_caching(photo, imagekit):
    response = get(sdk_url(imagekit, photo, signed=True, transformation=[{"width": 80}]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_signature_of_the_secret_before_a_rotation_verifies_during_the_overlap(private, owner):
    old = signing_secret_reveal(environment=owner.environment)
    url = sign_url(private["cdn_url"] + "?width=90", endpoint=endpoint_of(private), secret=old)
    assert get(path_of(url)).status_code == 200
    new = signing_secret_rotate(environment=owner.environment)
    assert get(path_of(url)).status_code == 200  # the old secret, kept or read again
    fresh = sign_url(private["cdn_url"] + "?width=91", endpoint=endpoint_of(private), secret=new)
    assert get(path_of(fresh)).status_code == 200  # a new secret is read on first miss


def test_the_signing_service_makes_urls_the_delivery_view_accepts(private, owner):
    image = Image.objects.with_environment().get(id=private["id"])
    for transformation, size in (("", (400, 300)), ("w-120", (120, 90)), ("width=60", (60, 45))):
        url = delivery_url_sign(image, expires_in=600, transformation=transformation)
        assert "ik-t=" in url and "ik-s=" in url
        response = get(path_of(url))
        assert response.status_code == 200, transformation
        assert decoded(response).size == size
    assert "ik-t=" not in delivery_url_sign(image, expires_in=None)


def test_a_warm_signed_hit_through_the_fast_path_makes_only_the_lookup_query(private, imagekit):
    url = sdk_url(imagekit, private, signed=True, expires_in=300, transformation=[{"width": 70}])
    assert get(url).status_code == 200  # renders, and keeps the secrets
    django_app = Django()
    fast = DeliveryFastPath(django_app)
    with CaptureQueriesContext(connection) as queries:
        status, headers, body = call(fast, url)
    assert status == "200 OK" and django_app.calls == 0
    assert len(queries) == 1
    assert dict(headers)["Cache-Control"].startswith("private, max-age=")
    assert decoded(body).width == 70
    unsigned = call(fast, url.split("&ik-t")[0])
    assert unsigned[0].startswith("404")


def test_a_signed_variant_never_answers_an_unsigned_request(private, imagekit):
    url = sdk_url(imagekit, private, signed=True, transformation=[{"width": 64}])
    assert get(url).status_code == 200
    assert content(get(url)).startswith(b"\xff\xd8")
    assert get(path_of(private["cdn_url"]) + "?tr=w-64").status_code == 404
    assert get(path_of(private["cdn_url"]) + "?width=64").status_code == 404


def test_a_signed_url_works_on_a_connected_custom_domain(private, imagekit, owner, settings):
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = "cdn.imgwire.test"
    host = "img.customer.test"
    domain = custom_domain_create(environment=owner.environment, hostname=host)
    CustomDomain.objects.filter(pk=domain.pk).update(status=CustomDomainStatus.CONNECTED)
    image = Image.objects.with_environment().get(id=private["id"])
    assert image.cdn_url == f"https://{host}/{image.id}"
    url = imagekit.helper.build_url(
        src=str(image.id), url_endpoint=f"https://{host}", signed=True, expires_in=60
    )
    relative = url.removeprefix(f"https://{host}")
    assert APIClient().get(relative, HTTP_HOST=host).status_code == 200
    assert APIClient().get(f"/{image.id}", HTTP_HOST=host).status_code == 404
    ours = delivery_url_sign(image, expires_in=60, transformation="w-50").removeprefix(
        f"https://{host}"
    )
    assert decoded(APIClient().get(ours, HTTP_HOST=host)).width == 50


NODE_SIGN = """
import ImageKit from "@imagekit/nodejs";
const [privateKey, src, urlEndpoint] = process.argv.slice(1);
const client = new ImageKit({ privateKey });
process.stdout.write(client.helper.buildSrc({
  src, urlEndpoint, transformation: [{ width: 60 }], signed: true, expiresIn: 600,
}));
"""


def test_a_url_signed_by_imagekits_node_sdk_serves_the_private_image(private, owner):
    secret = signing_secret_reveal(environment=owner.environment)
    clients = Path(__file__).resolve().parent.parent / "clients"
    built = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            NODE_SIGN,
            secret,
            private["id"],
            endpoint_of(private),
        ],
        cwd=clients,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "ik-t=" in built and "ik-s=" in built
    response = get(path_of(built))
    assert response.status_code == 200
    assert decoded(response).width == 60


def test_imagekits_path_form_of_a_transformation_serves_what_the_query_form_serves(photo, imagekit):
    url = sdk_url(imagekit, photo, transformation=[{"width": 120}], transformation_position="path")
    assert "/tr:w-120/" in url and "?" not in url
    by_path, by_query = get(url), get(path_of(photo["cdn_url"]) + "?tr=w-120")
    assert by_path.status_code == 200 and by_path["ETag"] == by_query["ETag"]
    assert content(by_path) == content(by_query)
    assert decoded(get(url)).width == 120


def test_a_path_form_url_signed_by_imagekits_sdk_serves_the_private_image(private, imagekit):
    url = sdk_url(
        imagekit,
        private,
        transformation=[{"width": 80, "height": 40}],
        transformation_position="path",
        signed=True,
        expires_in=300,
    )
    assert "/tr:w-80,h-40/" in url
    response = get(url)
    assert response.status_code == 200 and decoded(response).size == (80, 40)
    # The path segment is part of what was signed: another transformation is refused.
    assert get(url.replace("tr:w-80,h-40", "tr:w-81,h-40")).status_code == 403
    assert (
        get(
            path_of(private["cdn_url"]).replace(private["id"], "tr:w-80/" + private["id"])
        ).status_code
        == 404
    )


def test_a_transformation_in_both_the_path_and_the_query_is_refused_with_a_sentence(photo):
    url = path_of(photo["cdn_url"]).replace(photo["id"], "tr:w-50/" + photo["id"])
    both = get(url + "?tr=w-60")
    assert both.status_code == 400 and "once" in both.json()["detail"]
    assert get(url.replace("tr:w-50", "w-50")).status_code == 404  # not a tr: segment
    assert get(url.replace("tr:w-50", "tr:w-nonsense")).status_code == 400


def test_a_warm_path_form_hit_is_answered_by_the_fast_path(private, imagekit):
    url = sdk_url(
        imagekit,
        private,
        transformation=[{"width": 66}],
        transformation_position="path",
        signed=True,
        expires_in=300,
    )
    assert get(url).status_code == 200  # renders the variant
    django_app = Django()
    status, _, body = call(DeliveryFastPath(django_app), url)
    assert status == "200 OK" and django_app.calls == 0
    assert decoded(body).width == 66
    other = call(DeliveryFastPath(django_app), url.replace("tr:w-66", "tr:w-67"))
    assert other[0].startswith("403")

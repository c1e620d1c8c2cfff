"""Custom domain host names: one subdomain, host name only, stored lowercase punycode."""

import pytest

from domains.dns import cname_target_setting, parse_nameservers
from domains.hostnames import InvalidHostname, could_be_custom_domain, normalise_hostname

VALID = [
    ("img.example.com", "img.example.com"),
    ("IMG.Example.COM", "img.example.com"),
    ("img.example.com.", "img.example.com"),
    ("a.b.c.example.co.uk", "a.b.c.example.co.uk"),
    ("bilder.bücher.example", "bilder.xn--bcher-kva.example"),
    ("bilder.xn--bcher-kva.example", "bilder.xn--bcher-kva.example"),
    ("\uff49\uff4d\uff47.example.com", "img.example.com"),  # fullwidth "img" folds to ASCII
    ("img。example。com", "img.example.com"),  # ideographic full stops are dots
    ("cdn-1.my-shop.example", "cdn-1.my-shop.example"),
    ("1.example.com", "1.example.com"),
    ("img.corp.internal", "img.corp.internal"),
    ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
]

INVALID = [
    ("", "a host name is needed"),
    ("example.com", "apex domain"),
    ("com", "apex domain"),
    ("bücher.example", "apex domain"),
    ("https://img.example.com", "without https://"),
    ("img.example.com/images", "without a path"),
    ("img.example.com?x=1", "without a query"),
    ("img.example.com#top", "without a fragment"),
    ("user@img.example.com", "without credentials"),
    ("img.example.com:8443", "without a port"),
    ("img.example.com:", "without a port"),
    ("*.example.com", "wildcards are not supported"),
    ("img .example.com", "spaces or control characters"),
    ("img.example.com\n", "spaces or control characters"),
    ("192.0.2.10", "IP addresses"),
    ("[2001:db8::1]", "IP addresses"),
    ("2001:db8::1", "IP addresses"),
    ("img..example.com", "empty labels"),
    (".img.example.com", "empty labels"),
    ("-img.example.com", "not a valid host name label"),
    ("img-.example.com", "not a valid host name label"),
    ("img_1.example.com", "underscore"),
    ("img.example.com..", "empty labels"),
    ("xn--zz-.example.com", "not a valid host name label"),
    ("img.xn--a.example", "not valid punycode"),
    ("img.xn--ber-ska.example", "not valid punycode"),  # "Über": not in normal form
    ("straße.shop.example", "xn--"),
    ("a" * 64 + ".example.com", "at most 63"),
    (".".join(["a" * 60] * 4), "at most 237"),
    ("img.app.localhost", "never resolve"),
]


@pytest.mark.parametrize(("typed", "stored"), VALID)
def test_it_accepts_and_normalises_subdomains(typed, stored):
    assert normalise_hostname(typed) == stored


@pytest.mark.parametrize(("typed", "message"), INVALID)
def test_it_refuses_anything_but_one_subdomain_saying_why(typed, message):
    with pytest.raises(InvalidHostname) as error:
        normalise_hostname(typed)
    assert message in str(error.value)


def test_the_longest_host_name_leaves_room_for_the_dcv_record():
    longest = ".".join(["a" * 59] * 4)  # 239 characters
    with pytest.raises(InvalidHostname):
        normalise_hostname(longest)
    fits = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 45])  # 237 characters
    assert len("_acme-challenge." + normalise_hostname(fits)) == 253


def test_only_names_that_could_be_custom_domains_cost_a_lookup(settings):
    settings.ALLOWED_HOSTS = ["api.imgwire.test", ".dash.imgwire.test"]
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = "cdn.imgwire.test"
    assert could_be_custom_domain("img.customer.test")
    for host in (
        "",
        "testserver",
        "localhost",
        "customer.test",
        "127.0.0.1",
        "[::1]",
        "api.imgwire.test",
        "eu.dash.imgwire.test",
        "cdn.imgwire.test",
        "x.dcv.cdn.imgwire.test",
    ):
        assert not could_be_custom_domain(host), host


@pytest.mark.parametrize(
    ("text", "servers"),
    [
        ("", []),
        ("192.0.2.53", [("192.0.2.53", 53)]),
        (" 192.0.2.53:5353 , [2001:db8::53]:54", [("192.0.2.53", 5353), ("2001:db8::53", 54)]),
        ("2001:db8::53", [("2001:db8::53", 53)]),
    ],
)
def test_nameservers_are_read_as_ip_and_optional_port(text, servers):
    assert parse_nameservers(text) == servers


@pytest.mark.parametrize("text", ["dns.example.com", "192.0.2.53:0", "192.0.2.53:x", "[::1]x"])
def test_a_bad_nameserver_setting_names_the_variable(text):
    with pytest.raises(ValueError, match="IMGWIRE_DNS_NAMESERVERS"):
        parse_nameservers(text)


def test_the_cname_target_defaults_to_the_cdn_host():
    assert cname_target_setting("", "https://CDN.Imgwire.example:8443/cdn") == "cdn.imgwire.example"
    assert cname_target_setting("Edge.Imgwire.example.", "https://x.example") == (
        "edge.imgwire.example"
    )
    with pytest.raises(ValueError, match="IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET"):
        cname_target_setting("https://edge.example/", "https://x.example")

"""The patterns our OpenAPI document adds say what the code accepts.

A pattern may be looser than the code (the parsers still refuse some matching values, with
a 422 saying why) but never stricter: a client validating by our document must be able to
send every value we accept. The file_name pattern is exact.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.cors import InvalidPattern, parse_pattern
from domains.hostnames import InvalidHostname, normalise_hostname
from images.services.uploads import _extension_of
from imgwire_site.api.errors import RequestValidationError
from tests.domains.test_cors_matcher import CANONICAL_TABLE

EXAMPLES = settings(max_examples=600, derandomize=True, deadline=None, database=None)


def _pattern(ours, schema: str, field: str) -> re.Pattern:
    return re.compile(ours["components"]["schemas"][schema]["properties"][field]["pattern"])


def _has_extension(name: str) -> bool:
    try:
        _extension_of(name)
    except RequestValidationError:
        return False
    return True


names = st.text(alphabet="a.é/\\ \n", max_size=12)


def test_the_file_name_pattern_is_exactly_the_extension_rule(ours):
    pattern = _pattern(ours, "StandardUploadCreateSchema", "file_name")
    both = []

    @EXAMPLES
    @given(names)
    def check(name):
        assert (pattern.fullmatch(name) is not None) == _has_extension(name), repr(name)
        both.append(_has_extension(name))

    check()
    assert True in both and False in both


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("photo.jpg", True),
        ("a/b.c", True),
        ("..a.b", True),
        (".jpg", False),
        ("photo", False),
        ("photo.", False),
        ("a.b/c", False),
        ("dir.d\\photo", False),
    ],
)
def test_the_file_name_pattern_reads_like_the_rule(ours, name, matches):
    pattern = _pattern(ours, "StandardUploadCreateSchema", "file_name")
    assert (pattern.fullmatch(name) is not None) is matches


separators = st.sampled_from([".", ".", ".", "\u3002", "\uff0e", "\uff61"])


def _hosts(alphabet: str, min_labels: int, min_size: int):
    labels = st.text(alphabet=alphabet, min_size=min_size, max_size=5)
    return st.lists(st.tuples(labels, separators), min_size=min_labels, max_size=5).map(
        lambda parts: "".join(label + sep for label, sep in parts)[:-1]
    )


cors_patterns = st.tuples(
    st.sampled_from(["", "", "https://", "HTTP://", "ftp://", "*.", "https://*.", "a@"]),
    st.one_of(
        _hosts("aZ0-_ü\u00df*", 1, 0),
        st.sampled_from(["[::1]", "[fe80::1%eth0]", "[::ffff:1.2.3.4]", "[::"]),
    ),
    st.sampled_from(["", "", ".", ":3000", ":0", ":65536", "/", "?q", "]"]),
).map("".join)
hostnames = st.tuples(
    _hosts("aZ0-ü", 2, 1), st.sampled_from(["", "", "", ".", ":443", "/", "_", "*"])
).map("".join)


def _accepts(parse, value) -> bool:
    try:
        parse(value)
    except (InvalidPattern, InvalidHostname):
        return False
    return True


@pytest.mark.parametrize(
    ("parse", "values", "schema", "field"),
    [
        (parse_pattern, cors_patterns, "CorsOriginCreateSchema", "pattern"),
        (parse_pattern, cors_patterns, "CorsOriginUpdateSchema", "pattern"),
        (normalise_hostname, hostnames, "CustomDomainCreateSchema", "hostname"),
    ],
)
def test_every_value_the_parser_accepts_matches_the_documented_pattern(
    ours, parse, values, schema, field
):
    pattern = _pattern(ours, schema, field)
    accepted, refused_by_pattern = [], []

    @EXAMPLES
    @given(values)
    def check(value):
        matches = pattern.fullmatch(value) is not None
        if _accepts(parse, value):
            accepted.append(value)
            assert matches, repr(value)
        elif not matches:
            refused_by_pattern.append(value)

    check()
    # The examples reach both sides, so the property above was really exercised.
    assert len(accepted) >= 20 and len(refused_by_pattern) >= 20


@pytest.mark.parametrize(("typed", "stored"), CANONICAL_TABLE)
def test_every_cors_pattern_of_the_canonical_table_matches_the_documented_pattern(
    ours, typed, stored
):
    pattern = _pattern(ours, "CorsOriginCreateSchema", "pattern")
    assert pattern.fullmatch(typed) and pattern.fullmatch(stored)


@pytest.mark.parametrize(
    "hostname", ["img.example.com", "IMG.Example.Com.", "img.bücher.example", "a。b。c"]
)
def test_custom_domain_host_names_match_the_documented_pattern(ours, hostname):
    normalise_hostname(hostname)
    assert _pattern(ours, "CustomDomainCreateSchema", "hostname").fullmatch(hostname)


@pytest.mark.parametrize("hostname", ["example.com", "https://img.example.com", "img.ex_ample.com"])
def test_the_hostname_pattern_refuses_what_is_plainly_not_a_custom_domain(ours, hostname):
    assert not _pattern(ours, "CustomDomainCreateSchema", "hostname").fullmatch(hostname)

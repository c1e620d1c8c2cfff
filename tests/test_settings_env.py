"""Settings that fail closed: host names, generated secrets."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from imgwire_site.env import allowed_hosts, dev_secret


def test_allowed_hosts_defaults_to_the_hosts_of_the_install_urls_and_loopback():
    hosts = allowed_hosts("", "https://api.imgwire.example", "https://cdn.imgwire.example/cdn")
    assert hosts == [
        "api.imgwire.example",
        "cdn.imgwire.example",
        "localhost",
        "127.0.0.1",
        "[::1]",
    ]


def test_allowed_hosts_takes_the_listed_names_instead_of_the_urls():
    hosts = allowed_hosts(" a.example , .b.example ", "https://api.imgwire.example")
    assert hosts[:2] == ["a.example", ".b.example"]
    assert "api.imgwire.example" not in hosts


def test_allowed_hosts_brackets_an_ipv6_url_host():
    assert allowed_hosts("", "http://[2001:db8::1]:8000")[0] == "[2001:db8::1]"


def test_allowed_hosts_refuses_a_wildcard():
    with pytest.raises(ImproperlyConfigured, match="not '\\*'"):
        allowed_hosts("api.example,*", "https://api.example")


def test_a_secret_is_generated_once_into_the_data_folder_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = dev_secret("SECRET_KEY", tmp_path, may_generate=True)
    assert len(first) >= 50
    assert dev_secret("SECRET_KEY", tmp_path, may_generate=True) == first
    assert (tmp_path / ".secret_key").stat().st_mode & 0o777 == 0o600


def test_a_secret_that_may_not_be_generated_must_be_set(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGWIRE_KEY_PEPPER", raising=False)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        dev_secret("IMGWIRE_KEY_PEPPER", tmp_path, may_generate=False)
    monkeypatch.setenv("IMGWIRE_KEY_PEPPER", "set-by-the-operator")
    assert dev_secret("IMGWIRE_KEY_PEPPER", tmp_path, may_generate=False) == "set-by-the-operator"

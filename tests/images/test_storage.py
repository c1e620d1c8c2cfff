"""images/storage.py on local storage (the S3 side runs in tests/services)."""

import io
import os
import stat

from django.core.files.storage import default_storage

from images.storage import open_object, replace_file


def test_replace_file_puts_the_whole_object_in_place_of_the_old_one(tmp_path):
    key = "variants/env/image/abc.jpeg"
    replace_file(key, io.BytesIO(b"first render"))
    reader, size = open_object(key)
    replace_file(key, io.BytesIO(b"second, longer render"))
    with reader:
        # A reader that opened the old object keeps reading it whole.
        assert (reader.read(), size) == (b"first render", 12)
    body, size = open_object(key)
    with body:
        assert (body.read(), size) == (b"second, longer render", 21)
    path = default_storage.path(key)
    assert os.listdir(os.path.dirname(path)) == ["abc.jpeg"]  # no temporary file left
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_open_object_of_a_missing_key_is_none():
    assert open_object("variants/env/image/missing.jpeg") is None

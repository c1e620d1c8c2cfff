"""Strict JSON field types: the API documents types, so "12" is not an integer and 12 is not
a string (DRF coerces both by default)."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_STRING_LENGTH = 512


class MetadataField(serializers.DictField):
    """A flat map of string → string/number/integer/boolean, bounded in size."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("custom_metadata must be a JSON object.", "dict_type")
        if len(data) > MAX_METADATA_KEYS:
            raise serializers.ValidationError(
                f"custom_metadata may have at most {MAX_METADATA_KEYS} keys (got {len(data)}).",
                "too_long",
            )
        errors = {}
        for key, value in data.items():
            if not key or len(key) > MAX_METADATA_KEY_LENGTH:
                errors[key] = [f"Keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters long."]
            elif isinstance(value, str):
                if len(value) > MAX_METADATA_STRING_LENGTH:
                    errors[key] = [
                        f"String values may be at most {MAX_METADATA_STRING_LENGTH} characters."
                    ]
            elif not isinstance(value, bool | int | float):
                errors[key] = ["Values must be a string, number, integer or boolean."]
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)

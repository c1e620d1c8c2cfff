from django import forms

from images.models import SupportedMimeType
from keys.models import (
    CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES,
    CLIENT_KEY_MIN_PENDING_UPLOADS,
    CLIENT_KEY_MIN_UPLOAD_BYTES,
    MAX_UPLOAD_BYTES,
    ApiKeyType,
)


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    key_type = forms.ChoiceField(
        label="Type",
        choices=ApiKeyType.choices,
        widget=forms.RadioSelect,
        help_text="Server keys may do everything in this environment; keep them on servers. "
        "Client keys may only upload and read images, and can be published in a web page.",
    )


class ClientPolicyForm(forms.Form):
    allowed_mime_types = forms.MultipleChoiceField(
        choices=SupportedMimeType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every accepted type.",
    )
    maximum_upload_bytes = forms.IntegerField(
        min_value=CLIENT_KEY_MIN_UPLOAD_BYTES,
        max_value=MAX_UPLOAD_BYTES,
        initial=CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES,
        help_text=f"Between {CLIENT_KEY_MIN_UPLOAD_BYTES} and {MAX_UPLOAD_BYTES} bytes.",
    )
    allow_unsigned_upload = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Off: every upload needs a single-use upload token from your backend.",
    )
    maximum_pending_uploads = forms.IntegerField(
        min_value=CLIENT_KEY_MIN_PENDING_UPLOADS, required=False, initial=100
    )

    def policy(self) -> dict:
        data = self.cleaned_data
        return {
            "allowed_mime_types": data["allowed_mime_types"] or None,
            "maximum_upload_bytes": data["maximum_upload_bytes"],
            "allow_unsigned_upload": data["allow_unsigned_upload"],
            "maximum_pending_uploads": data["maximum_pending_uploads"],
        }

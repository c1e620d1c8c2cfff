from django import forms

from images.models import SupportedMimeType
from keys.models import (
    CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES,
    CLIENT_KEY_MIN_PENDING_UPLOADS,
    CLIENT_KEY_MIN_UPLOAD_BYTES,
    MAX_UPLOAD_BYTES,
    ApiKey,
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


class ApiKeyAdminForm(forms.ModelForm):
    """The operator's edit of a key: its name and, for a Client key, the same upload policy
    the dashboard edits, with the same bounds. Saved by keys.admin through the services."""

    allowed_mime_types = ClientPolicyForm.base_fields["allowed_mime_types"]
    maximum_upload_bytes = ClientPolicyForm.base_fields["maximum_upload_bytes"]
    allow_unsigned_upload = ClientPolicyForm.base_fields["allow_unsigned_upload"]
    maximum_pending_uploads = ClientPolicyForm.base_fields["maximum_pending_uploads"]

    class Meta:
        model = ApiKey
        fields = ["name", *ClientPolicyForm.base_fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.initial.get("maximum_upload_bytes") is None:
            # An empty limit means the default: show it, rather than a required empty box.
            self.initial["maximum_upload_bytes"] = self.instance.effective_maximum_upload_bytes

    def clean_allowed_mime_types(self):
        return self.cleaned_data["allowed_mime_types"] or None  # none checked: every type

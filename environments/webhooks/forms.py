"""The dashboard's webhook form. It checks shapes only; the services decide what a URL may
point at and which events exist, and their refusal lands on the field it names."""

from django import forms

from .events import NEUTRAL_TYPES, SUBSCRIBABLE_TYPES
from .models import Subscription
from .services import MAX_URL


class WebhookCreateForm(forms.Form):
    # A CharField, not a URLField: that one would quietly prepend http:// to a bare host.
    url = forms.CharField(
        label="URL",
        max_length=MAX_URL,
        widget=forms.URLInput(attrs={"size": 60, "placeholder": "https://api.example.com/hooks"}),
        help_text="Where events are POSTed: https:// on a public host.",
    )
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in SUBSCRIBABLE_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"None checked: every Imgwire event ({', '.join(NEUTRAL_TYPES)}). "
        "Uploadcare's names (file.…) are sent only when checked.",
    )
    format = forms.ChoiceField(
        choices=Subscription.FORMATS,
        initial="standard",
        widget=forms.RadioSelect,
        help_text="Standard Webhooks headers, or Uploadcare's body and X-Uc-Signature for "
        "receivers written for Uploadcare.",
    )

    def refused(self, refusal) -> None:
        """Show a service's refusal on the field it names (or above the form)."""
        field = refusal.field if refusal.field in self.fields else None
        self.add_error(field, refusal.message)


class WebhookEditForm(WebhookCreateForm):
    enabled = forms.BooleanField(
        required=False,
        help_text="Off: no new events are sent to it. On again: a fresh start after Imgwire "
        "disabled it for failing.",
    )

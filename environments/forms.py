from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from environments.models import Environment, Role


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="You sign in with this address.")

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists; sign in.")
        return email

    def save(self, commit=True):
        user = super().save(commit=False)
        user.username = user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200)


class EnvironmentForm(forms.Form):
    name = forms.CharField(max_length=100)


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class EnvironmentAdminForm(forms.ModelForm):
    """The operator's environment form. Being the default is not the model field here:
    marking a default goes through environment_mark_default (which clears the previous
    one), so the one-default constraint must not be judged on a half-applied instance."""

    make_default = forms.BooleanField(
        required=False,
        label="Default environment",
        help_text="One per organization: to move it, mark another environment as the default.",
    )

    class Meta:
        model = Environment
        fields = ["organization", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("make_default", self.instance.is_default)

    def clean_make_default(self):
        value = self.cleaned_data["make_default"]
        if self.instance.is_default and not value:
            raise forms.ValidationError(
                "An organization always has a default environment: mark another one as the "
                "default instead."
            )
        return value

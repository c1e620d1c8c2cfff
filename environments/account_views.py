"""Accounts: sign-up, sign-in with a brute-force lockout, accepting an invitation."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from environments.forms import SignupForm
from environments.models import SignInFailure
from environments.team import invitation_accept_for_user, invitation_by_token

# Five wrong passwords for one username from one address within 15 minutes lock that pair
# out for 15 minutes. Keyed by username *and* address so an attacker cannot lock a victim
# out from everywhere, and counted in the database so every process sees the same number.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


def _client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "")[:45]


def _counter_key(request, username: str) -> dict:
    return {
        "username": (username or "").strip().lower()[:150],
        "ip_address": _client_address(request),
    }


def sign_in_locked_until(request, username: str):
    row = SignInFailure.objects.filter(**_counter_key(request, username)).first()
    if row and row.locked_until and row.locked_until > timezone.now():
        return row.locked_until
    return None


@transaction.atomic
def sign_in_failure_record(request, username: str) -> None:
    now = timezone.now()
    key = _counter_key(request, username)
    row, _ = SignInFailure.objects.get_or_create(**key, defaults={"window_started_at": now})
    if row.window_started_at < now - FAILURE_WINDOW:
        SignInFailure.objects.filter(pk=row.pk).update(
            failures=1, window_started_at=now, locked_until=None
        )
        return
    # F() increments in the database, so concurrent failures are all counted.
    SignInFailure.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
    SignInFailure.objects.filter(pk=row.pk, failures__gte=MAX_FAILURES).update(
        locked_until=now + LOCKOUT
    )


def sign_in_failures_clear(request, username: str) -> None:
    SignInFailure.objects.filter(**_counter_key(request, username)).delete()


def sign_in_failures_clear_for_user(user) -> None:
    """A password reset proves control of the account: lift its lockout from every address
    (the lockout message tells people to reset, so the reset must be what unlocks)."""
    names = {name.strip().lower() for name in (user.get_username(), user.email) if name}
    SignInFailure.objects.filter(username__in=names).delete()


class UnlockingPasswordResetConfirmView(PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        sign_in_failures_clear_for_user(form.user)
        return response


class ThrottledLoginView(LoginView):
    template_name = "registration/login.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        username = kwargs.get("data", {}).get("username", "")
        if "@" in username:
            # Accounts made by sign-up use the lowercased email as their username.
            kwargs["data"] = kwargs["data"].copy()
            kwargs["data"]["username"] = username.strip().lower()
        return kwargs

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        locked_until = sign_in_locked_until(request, username)
        if locked_until is not None:
            minutes = max(1, int((locked_until - timezone.now()).total_seconds() // 60) + 1)
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                f"Too many failed sign-ins for this account from your address. "
                f"Try again in {minutes} minutes, or reset your password.",
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        sign_in_failure_record(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        sign_in_failures_clear(self.request, self.request.POST.get("username", ""))
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "public_signup": settings.IMGWIRE_PUBLIC_SIGNUP,
        }


def signup(request):
    invitation_token = request.GET.get("invitation") or request.POST.get("invitation") or ""
    invitation = invitation_by_token(invitation_token) if invitation_token else None
    if not settings.IMGWIRE_PUBLIC_SIGNUP and invitation is None:
        return render(request, "registration/signup_closed.html", status=403)
    form = SignupForm(
        request.POST or None, initial={"email": invitation.email if invitation else ""}
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and not settings.IMGWIRE_PUBLIC_SIGNUP
        and form.cleaned_data["email"] != invitation.email
    ):
        # With sign-up closed, an invitation opens it only for the address it was sent to.
        form.add_error("email", f"This invitation is for {invitation.email}.")
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Imgwire.")
        if invitation is not None:
            return redirect("invitation-accept", token=invitation_token)
        return redirect("dashboard-home")
    return render(
        request, "registration/signup.html", {"form": form, "invitation": invitation_token}
    )


@login_required
def invitation_accept(request, token: str):
    invitation = invitation_by_token(token)
    if invitation is None:
        raise Http404("This invitation does not exist, was already used, or has expired.")
    if request.method == "POST":
        membership = invitation_accept_for_user(invitation=invitation, user=request.user)
        if membership is None:
            messages.error(
                request,
                f"This invitation was sent to {invitation.email}; sign in with that address "
                "to accept it.",
            )
            return redirect("invitation-accept", token=token)
        messages.success(request, f"You joined {invitation.organization.name}.")
        return redirect("dashboard-home")
    return render(request, "registration/invitation.html", {"invitation": invitation})

"""Accounts: sign-up, sign-in with a brute-force lockout, and the invitation link, which
sign-up and sign-in both carry through to the organization."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.db import transaction
from django.db.models import F
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone

from environments.forms import SignupForm
from environments.invitations import invitation_accept, invitation_lookup
from environments.models import Environment, SignInFailure
from imgwire_site.domain import Refusal

# The session key of the invitation a signed-out visitor opened (a token, see
# environments.invitations): sign-up and sign-in carry it and bring them back to it.
PENDING_INVITATION_KEY = "pending_invitation"

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
        response = super().form_valid(form)
        # Signing in from an invitation with its address is the consent: join at once.
        joined = _join_pending(self.request, self.request.session.get(PENDING_INVITATION_KEY))
        return response if joined is None else joined

    def get_success_url(self):
        # Signed in as another address: back to the invitation, which says so.
        token, invitation = _pending(self.request.session.get(PENDING_INVITATION_KEY))
        if invitation is not None and not self.get_redirect_url():
            return resolve_url("invitation-accept", token=token)
        return super().get_success_url()

    def get_context_data(self, **kwargs):
        token, invitation = _pending(self.request.session.get(PENDING_INVITATION_KEY))
        return {
            **super().get_context_data(**kwargs),
            "public_signup": settings.IMGWIRE_PUBLIC_SIGNUP,
            "pending_invitation": invitation,
            "pending_token": token,
        }


def _pending(token) -> tuple[str, object]:
    """(token, invitation) when the token is a usable invitation's, else ("", None)."""
    lookup = invitation_lookup(token) if token else None
    return (token, lookup.invitation) if lookup and lookup.usable else ("", None)


def _pending_token(request) -> str:
    """The invitation a visitor is in the middle of: from the form or link, else the one
    remembered when they opened an invitation link signed out (so "Create an account" or
    "Sign in" from any page keeps it)."""
    return (
        request.GET.get("invitation")
        or request.POST.get("invitation")
        or request.session.get(PENDING_INVITATION_KEY)
        or ""
    )[:128]


def _invalid_invitation(request, lookup):
    return render(
        request,
        "registration/invitation_invalid.html",
        {
            "lookup": lookup,
            "invitation": lookup.invitation,
            "public_signup": settings.IMGWIRE_PUBLIC_SIGNUP,
        },
        status=404 if lookup.state == "unknown" else 410,
    )


def _land_in(organization):
    """The organization's default environment, where a new member starts."""
    environment = (
        Environment.objects.filter(organization=organization).order_by("-is_default", "created_at")
    ).first()
    if environment is None:
        return redirect("dashboard-home")
    return redirect("dashboard-overview", environment_id=environment.id)


def _join_pending(request, token):
    """Accept the invitation of ``token`` for the signed-in user when it is addressed to
    them, and answer with the organization's first page; None when there is nothing to
    join (no usable invitation, or one for another address)."""
    token, invitation = _pending(token)
    if invitation is None or (request.user.email or "").lower() != invitation.email:
        return None
    request.session.pop(PENDING_INVITATION_KEY, None)
    try:
        invitation_accept(invitation=invitation, user=request.user)
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return redirect("dashboard-home")
    messages.success(request, f"You joined {invitation.organization.name}.")
    return _land_in(invitation.organization)


def signup(request):
    invitation_token = _pending_token(request)
    lookup = invitation_lookup(invitation_token) if invitation_token else None
    invitation = lookup.invitation if lookup and lookup.usable else None
    if lookup is not None and not lookup.usable:
        request.session.pop(PENDING_INVITATION_KEY, None)
        explicit = request.GET.get("invitation") or request.POST.get("invitation")
        if explicit or not settings.IMGWIRE_PUBLIC_SIGNUP:
            # Say why the invitation stopped working (rather than a bare "sign-up is
            # closed", or an account that silently joins nothing); one only remembered
            # from an earlier visit is dropped quietly while sign-up is open.
            return _invalid_invitation(request, lookup)
        invitation_token = ""
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
        # Creating the account from the link with its address is the consent: the new
        # person lands in the organization without a second click.
        joined = _join_pending(request, invitation_token)
        if joined is not None:
            return joined
        messages.success(request, "Welcome to Imgwire.")
        if invitation is not None:  # another address: the invitation page says what to do
            return redirect("invitation-accept", token=invitation_token)
        return redirect("dashboard-home")
    return render(
        request,
        "registration/signup.html",
        {"form": form, "invitation": invitation_token, "pending_invitation": invitation},
    )


def invitation_accept_view(request, token: str):
    """The link in the email. Signed out: who invited you to what, and the two ways in
    (create the account, or sign in), remembering the invitation through either. Signed
    in: accept, and land in the organization."""
    lookup = invitation_lookup(token)
    if not lookup.usable:
        request.session.pop(PENDING_INVITATION_KEY, None)
        return _invalid_invitation(request, lookup)
    invitation = lookup.invitation
    if not request.user.is_authenticated:
        request.session[PENDING_INVITATION_KEY] = token
        return render(
            request,
            "registration/invitation.html",
            {
                "invitation": invitation,
                "token": token,
                "account_exists": lookup.account_exists,
                "public_signup": settings.IMGWIRE_PUBLIC_SIGNUP,
            },
        )
    if request.method == "POST":
        try:
            invitation_accept(invitation=invitation, user=request.user)
        except Refusal as refusal:
            messages.error(request, str(refusal))
            return redirect("invitation-accept", token=token)
        request.session.pop(PENDING_INVITATION_KEY, None)
        messages.success(request, f"You joined {invitation.organization.name}.")
        return _land_in(invitation.organization)
    return render(
        request,
        "registration/invitation.html",
        {
            "invitation": invitation,
            "token": token,
            "other_address": (request.user.email or "").lower() != invitation.email,
        },
    )

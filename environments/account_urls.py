"""/accounts/: Django's own sign-in, sign-out and password-reset views, plus sign-up,
a throttled sign-in and invitation acceptance."""

from django.urls import include, path

from environments import account_views

urlpatterns = [
    path("login/", account_views.ThrottledLoginView.as_view(), name="login"),
    path("signup/", account_views.signup, name="signup"),
    path(
        "invitations/<str:token>/", account_views.invitation_accept_view, name="invitation-accept"
    ),
    # Before Django's own: the same view, and a successful reset lifts the sign-in lockout.
    path(
        "reset/<uidb64>/<token>/",
        account_views.UnlockingPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("", include("django.contrib.auth.urls")),
]

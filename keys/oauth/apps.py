from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "keys.oauth"
    label = "agents"
    verbose_name = "OAuth-linked agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from keys.oauth.sessions import session_signed_in, session_signed_out

        # Sessions are remembered as they start, so "sign out everywhere" finds them.
        user_logged_in.connect(
            lambda sender, request, user, **kw: session_signed_in(
                user=user, session_key=request.session.session_key
            ),
            weak=False,
            dispatch_uid="agents-session-signed-in",
        )
        user_logged_out.connect(
            lambda sender, request, user, **kw: session_signed_out(
                session_key=getattr(request, "session", None) and request.session.session_key
            ),
            weak=False,
            dispatch_uid="agents-session-signed-out",
        )

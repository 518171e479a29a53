"""The Django app: registers the system checks, the Celery tasks, the session-validity
cache's receiver and the ``last_login`` receiver that replaces Django's."""

from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_delete

# Django's own dispatch_uid for its receiver: a host project that disconnects it (to not track
# logins) disconnects hankoflow's.
UPDATE_LAST_LOGIN = "update_last_login"


class HankoflowConfig(AppConfig):
    name = "hankoflow"
    verbose_name = "hankoflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hankoflow import checks  # noqa: F401  (registers the checks)

        # Every deleted session row marks its validity-cache entry ended (before the commit).
        post_delete.connect(_session_deleted, sender="hankoflow.Session", dispatch_uid=__name__)

        if apps.is_installed("django.contrib.auth"):
            # Apps become ready in INSTALLED_APPS order.
            order = [config.name for config in apps.get_app_configs()]
            replace_update_last_login(
                auth_ready=order.index("django.contrib.auth") < order.index(self.name)
            )

        try:
            from hankoflow import tasks  # noqa: F401  (registers them: web processes publish them)
        except ModuleNotFoundError as exc:
            # Celery is optional (the `celery` extra): without it emails are sent in-process.
            if exc.name != "celery":
                raise


def _session_deleted(sender: type, **kwargs: object) -> None:
    # Imported here: loading the app must not load the services layer.
    from hankoflow.services.sessions.validity import session_deleted

    session_deleted(sender, **kwargs)


def replace_update_last_login(auth_ready: bool) -> bool:
    """Connect ``update_last_login`` below in place of Django's receiver; True when connected.

    Only when Django connects its own: ``last_login`` is a field of the user model. With
    ``auth_ready`` (django.contrib.auth's ``ready()`` ran, it comes first in INSTALLED_APPS)
    Django's receiver is disconnected first, and nothing is connected when there was none (a
    host app listed before hankoflow disconnected it). Otherwise django.contrib.auth connects
    later under the same dispatch_uid, which finds it taken and connects nothing.
    """
    if not isinstance(getattr(get_user_model(), "last_login", None), DeferredAttribute):
        return False
    if auth_ready and not user_logged_in.disconnect(dispatch_uid=UPDATE_LAST_LOGIN):
        return False
    user_logged_in.connect(update_last_login, dispatch_uid=UPDATE_LAST_LOGIN)
    return True


def update_last_login(sender: Any, user: Any, **kwargs: Any) -> None:
    """Django's ``update_last_login`` without the ORM save (services.last_login)."""
    # Imported here: loading the app must not load the services layer.
    from hankoflow.services.last_login import update_last_login

    update_last_login(sender, user, **kwargs)


# What services.last_login.connected() looks for on the receiver under UPDATE_LAST_LOGIN.
update_last_login.hankoflow_last_login = True  # type: ignore[attr-defined]

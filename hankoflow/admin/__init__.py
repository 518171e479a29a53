"""Django admin pages for hankoflow: one module per page, each registering its ModelAdmins.

Django imports this package itself (admin autodiscovery) when ``django.contrib.admin`` is
installed; without it there is nothing to register the pages with.
"""

from django.apps import apps

if not apps.is_installed("django.contrib.admin"):
    raise ImportError("hankoflow.admin needs django.contrib.admin in INSTALLED_APPS")

import hankoflow.admin.api_keys  # noqa: F401
import hankoflow.admin.audit  # noqa: F401
import hankoflow.admin.credentials  # noqa: F401
import hankoflow.admin.flows  # noqa: F401
import hankoflow.admin.funnel  # noqa: F401
import hankoflow.admin.invitations  # noqa: F401
import hankoflow.admin.keys  # noqa: F401
import hankoflow.admin.outbox  # noqa: F401
import hankoflow.admin.sessions  # noqa: F401
import hankoflow.admin.users  # noqa: F401
import hankoflow.admin.webhooks  # noqa: F401

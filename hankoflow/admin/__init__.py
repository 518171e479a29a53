"""Django admin pages for hankoflow: one module per page, each registering its ModelAdmins."""

import hankoflow.admin.audit  # noqa: F401
import hankoflow.admin.credentials  # noqa: F401
import hankoflow.admin.flows  # noqa: F401
import hankoflow.admin.keys  # noqa: F401
import hankoflow.admin.outbox  # noqa: F401
import hankoflow.admin.sessions  # noqa: F401
import hankoflow.admin.users  # noqa: F401

"""Django admin pages for hankoflow: one module per page, each registering its ModelAdmins."""

from hankoflow.admin import users  # noqa: F401

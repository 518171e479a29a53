"""Hanko's admin API (platform.md §4, ``openapi-admin.yaml``), for other services of the host.

Mount it apart from the public routes, e.g. ``path("admin-api/", include("hankoflow.api.admin.
urls"))`` (or on an internal host only). Every request needs ``Authorization: Bearer <API key>``
(``authentication.py``); a ``read`` key may only read. One module per resource.
"""

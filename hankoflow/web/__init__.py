"""Server-rendered pages: a generic HTML client for any flow, and Hanko's own web components.

Mount with ``path("", include("hankoflow.web.urls"))``. Nothing here needs a JS build: the flow
page is plain Django templates, and ``/elements/`` serves the ``@teamhanko/hanko-elements``
bundle that ``bin/setup`` installs with npm.
"""

"""Server-rendered pages: a generic HTML client for any flow, and Hanko's own web components.

Mount with ``path("", include("hankoflow.web.urls"))``. Nothing here needs a JS build: the flow
page is plain Django templates, and ``/elements/`` serves the ``@teamhanko/hanko-elements``
bundle that ships in ``static/hankoflow/vendor/``.

One module per concern: ``flow_page`` (the ``/`` views), ``texts`` (the words a person reads
for each state, action, input and error), ``language`` (which language the page speaks),
``next_url`` (``?next=``), ``action_forms`` (a state's actions as form fields), ``input_data``
(a posted form back into ``input_data``), ``profile_page`` (``profile_init`` as an account
page), ``webauthn`` (what webauthn.js does on a state), ``elements_page`` (``/elements/``,
``/elements/profile/`` and the bundle), ``files`` (the pages' script and
stylesheet), ``headers`` (the pages' security headers), ``urls``.
"""

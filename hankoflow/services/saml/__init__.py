"""SAML 2.0 service provider on pysaml2 (platform.md §9.5, §9.6).

``providers`` reads ``SAML.IDENTITY_PROVIDERS``, ``metadata`` fetches and caches the IdPs'
metadata, ``sp`` builds pysaml2's service provider (keys, SP metadata), ``state`` seals the
SP-initiated state into the ``RelayState``, ``assertions`` validates a response and turns it
into the person it names, and ``dance`` puts them together for the flow and the ``/saml/*``
views. Linking and the one-time token are the third-party ones (services/thirdparty/).
"""

"""Third-party sign-in with OAuth 2 / OpenID Connect providers (platform.md §9.1-§9.4).

``providers`` reads the configuration, ``redirects`` the allow-list, ``state`` seals the OAuth
state, ``backends`` drives social-core, ``linking`` decides sign-in, linking or sign-up,
``tokens`` holds the one-time exchange tokens and ``dance`` puts them together for the flow
action and the callback view; ``identities`` is what the profile connects, lists and
disconnects.
"""

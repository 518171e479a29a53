"""The one error of the JWT template language."""


class TemplateError(ValueError):
    """A template that does not parse, or cannot be evaluated against the data."""

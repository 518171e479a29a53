"""hankoflow: Hanko-compatible, flow-based authentication for Django.

``__version__`` is the package's one version number: pyproject.toml reads it from here.
"""

__version__ = "0.1.0"

"""The project's user admin with what support needs from hankoflow."""

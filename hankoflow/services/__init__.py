"""Business logic shared by flows, APIs and commands; the only code that writes models."""

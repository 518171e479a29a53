"""Optional integrations of hankoflow with a host project's own code."""

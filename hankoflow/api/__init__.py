"""HTTP transports: the public API (Hanko's Flow API and friends); the admin API comes later."""

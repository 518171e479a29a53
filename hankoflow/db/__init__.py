"""Database backends of hankoflow's own. They import only Django and the database driver, so a
project (or the bench's django-allauth peer) can name one as its ``ENGINE`` without installing
hankoflow's other dependencies."""

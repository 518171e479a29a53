"""A test app with custom user models; see test_custom_user_model.py for how it is used."""

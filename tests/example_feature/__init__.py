"""A feature written the way a new one is (tests/test_feature_plugin.py):
its folder, and one line in the feature list."""

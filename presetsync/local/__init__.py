"""The local offline service: the embedded default and the test peer."""

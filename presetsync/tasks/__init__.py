"""Task manifests: expansion, journal, submission, status."""

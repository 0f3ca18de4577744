"""The simulated API service lives in lab/ (tests/conftest.py puts it on sys.path)."""

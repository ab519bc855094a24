"""Tests of the ``lgrs`` command line."""

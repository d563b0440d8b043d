"""Helpers shared by the test suites. Test modules import from here, never from each other."""

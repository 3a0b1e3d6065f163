"""Helpers shared by tests: rendering parsed records back into the files they came from."""

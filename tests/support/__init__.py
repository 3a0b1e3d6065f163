"""Helpers shared by tests (and used by `bench/`, which may import the suite, never the reverse):
rendering records back into digests, generated corpora and their scoring, a fast index in front
of the fake arXiv, a fake clock, and the `httpx.MockTransport` handlers and recorded answers
the unit tests of the service clients run on."""

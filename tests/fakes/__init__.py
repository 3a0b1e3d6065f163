"""Loopback fakes of the services digest-enrich talks to, and the corpora they serve."""

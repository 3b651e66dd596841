"""PAdES signing and verification (a library with no web code).

The signing issue fills this package; the foundation only reserves its place
so the service can import it.
"""

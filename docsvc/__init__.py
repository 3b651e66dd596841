"""docsvc: documents and digital signatures for Vietnamese public administration."""
from docsvc.app import create_app

__all__ = ["create_app"]

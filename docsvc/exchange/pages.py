"""The exchange's pages. None of its own yet: what a document sent in edXML
went to, and the statuses that came back, are served as JSON on
/api/v1/documents/<id>/exchange for the document page to show."""
from __future__ import annotations

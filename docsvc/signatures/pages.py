"""The public verification page: anyone uploads a signed PDF and reads the report."""
from __future__ import annotations

from flask import render_template, request

from docsvc import documents, ecopies, signatures
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime


@pages.route("/verify", methods=["GET", "POST"])
def verify():
    """Limited per client and in size by docsvc/web/request_limits.py."""
    report, error, filename, ecopy = None, None, None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = InvalidInput("Choose a PDF file.")
        else:
            filename = upload.filename
            rt = runtime()
            try:
                spooled = documents.spool(upload.stream, filename, rt)
                try:  # is it, or does it claim to be, a registered e-copy? (before the spool goes)
                    ecopy = ecopies.match_file(rt, spooled.path, spooled.sha256, client=request.remote_addr or "")
                finally:
                    report = signatures.verify_upload(rt.settings, spooled)
            except DocsvcError as exc:
                error = exc
    return (render_template("signatures/verify.html", report=report, error=error, filename=filename, ecopy=ecopy),
            (error.http_status if error else 200))

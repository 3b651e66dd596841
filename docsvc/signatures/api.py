"""Verification by file in the JSON API: anyone may ask whether a signed PDF is genuine."""
from __future__ import annotations

from flask import Response, jsonify, request

from docsvc import ecopies, signatures
from docsvc.web.blueprints import api
from docsvc.web.context import runtime
from docsvc.web.i18n import current_language
from docsvc.web.requests import receive_upload


@api.post("/verify")
def verify_signatures():
    """No sign-in needed; limited per client and in size (docsvc/web/request_limits.py)."""
    rt = runtime()
    spooled, _ = receive_upload(rt)
    filename, sha256 = spooled.filename, spooled.sha256
    ecopy = ecopies.match_file(rt, spooled.path, sha256, client=request.remote_addr or "")
    if request.args.get("format") != "pdf":
        # The very bytes of a registered e-copy: its report is already known.
        data = ecopies.registered_report(rt, sha256) if ecopy and ecopy["matches_registered_file"] else None
        if data is not None:
            spooled.discard()
        else:
            data = signatures.verify_upload(rt.settings, spooled).to_json()
        if ecopy is not None:
            data = {**data, "ecopy": ecopy}
        return jsonify(data)
    report = signatures.verify_upload(rt.settings, spooled)
    # The printable report, for a person to file, in the request's language
    # (?lang=vi|en, else the browser session's, else the installation's).
    pdf = signatures.render_report(report, filename=filename, sha256=sha256, lang=current_language())
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "attachment; filename=bao-cao-kiem-tra-chu-ky.pdf"
    return response

#!/usr/bin/env bash
# Command-line tools the test suite calls (Debian packages, idempotent):
#   poppler-utils     pdftotext / pdftoppm / pdfinfo: checks on generated PDFs
#   chromium          headless browser driven by Playwright (executable_path
#                     /usr/bin/chromium; Playwright's own browser download is
#                     not reachable from CI)
#   fonts-dejavu-core, fonts-liberation
#                     fonts with Vietnamese glyphs, so pages and PDFs render
#                     "Quyết định" instead of boxes
#   fonts-liberation2 Liberation Serif with Vietnamese glyphs (Times New Roman's
#                     metrics) for Decree 30 signature texts
#   openssl           test certificates for the digital-signature tests
#   softhsm2, opensc  a real PKCS#11 token (softhsm2-util, pkcs11-tool)
#   libnss3-tools     certutil: an NSS database trusting the test root for pdfsig
#   tesseract-ocr, tesseract-ocr-osd, tesseract-ocr-vie, tesseract-ocr-eng
#                     tesseract: the OCR engine OCRmyPDF drives (docsvc.documents.ocr), its
#                     page-orientation model (osd, for --rotate-pages) and the
#                     Vietnamese and English models
#   ghostscript       gs: OCRmyPDF rasterizes pages and writes PDF/A with it
#   ca-certificates   TLS trust store for the registries
#   nginx             tests/server/test_nginx_front.py runs the production
#                     front's config (config/nginx/docsvc.conf) in front of a real
#                     docsvc serve (proxy, limit_conn and ssl are in the core package)
# `install-runtime` installs only what the running service needs (OCR and
# the fonts its signatures and stamps embed): what ./scripts/serve runs.
# Usage: tools.sh install|install-runtime|status
set -euo pipefail
SERVICE_NAME=tools
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOL_PACKAGES=(poppler-utils chromium fonts-dejavu-core fonts-liberation fonts-liberation2 openssl ca-certificates
    softhsm2 opensc libnss3-tools tesseract-ocr tesseract-ocr-osd tesseract-ocr-vie tesseract-ocr-eng ghostscript
    nginx)

RUNTIME_PACKAGES=(tesseract-ocr tesseract-ocr-osd tesseract-ocr-vie tesseract-ocr-eng ghostscript
    fonts-dejavu-core fonts-liberation2)

case "${1:-}" in
    install-runtime)
        apt_install "${RUNTIME_PACKAGES[@]}"
        for cmd in tesseract gs; do
            command -v "$cmd" >/dev/null || die "$cmd missing after installing ${RUNTIME_PACKAGES[*]}"
        done
        ;;
    install)
        apt_install "${TOOL_PACKAGES[@]}"
        # Fail loudly if a package installed but its command is not there.
        for cmd in pdftotext pdftoppm pdfsig chromium openssl softhsm2-util pkcs11-tool certutil tesseract gs nginx; do
            command -v "$cmd" >/dev/null || die "$cmd missing after installing ${TOOL_PACKAGES[*]}"
        done
        log "installed: ${TOOL_PACKAGES[*]}"
        ;;
    status)
        if debs_installed "${TOOL_PACKAGES[@]}"; then
            echo "tools: installed (${TOOL_PACKAGES[*]})"
        else
            echo "tools: missing some of ${TOOL_PACKAGES[*]}"
            exit 3
        fi
        ;;
    *)
        echo "usage: $(basename "$0") install|install-runtime|status" >&2
        exit 2
        ;;
esac

"""Page texts in Vietnamese (first) and English. One dictionary, one lookup."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, g, request, session

LANGUAGES = ("vi", "en")
# People read times in Vietnam's time; the database keeps UTC.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"vi": "Hệ thống quản lý văn bản docsvc", "en": "docsvc document service"},
    "nav.home": {"vi": "Văn bản", "en": "Documents"},
    "nav.search": {"vi": "Tìm kiếm", "en": "Search"},
    "nav.login": {"vi": "Đăng nhập", "en": "Sign in"},
    "nav.logout": {"vi": "Đăng xuất", "en": "Sign out"},
    "login.title": {"vi": "Đăng nhập", "en": "Sign in"},
    "login.username": {"vi": "Tên đăng nhập", "en": "Username"},
    "login.password": {"vi": "Mật khẩu", "en": "Password"},
    "login.submit": {"vi": "Đăng nhập", "en": "Sign in"},
    "upload.title": {"vi": "Tải lên văn bản (PDF)", "en": "Upload documents (PDF)"},
    "upload.help": {
        "vi": "Chọn một hoặc nhiều tệp PDF. Văn bản gốc được lưu nguyên vẹn; nội dung được trích xuất ở chế độ nền.",
        "en": "Choose one or more PDF files. The original is kept untouched; its text is extracted in the background.",
    },
    "upload.choose": {"vi": "Chọn tệp", "en": "Choose files"},
    "upload.submit": {"vi": "Tải lên", "en": "Upload"},
    "upload.doc_title": {"vi": "Tiêu đề (không bắt buộc)", "en": "Title (optional)"},
    "upload.done": {"vi": "Đã nhận", "en": "Received"},
    "upload.failed": {"vi": "Lỗi", "en": "Failed"},
    "docs.recent": {"vi": "Văn bản gần đây", "en": "Recent documents"},
    "docs.none": {"vi": "Chưa có văn bản nào.", "en": "No documents yet."},
    "doc.title": {"vi": "Tiêu đề", "en": "Title"},
    "doc.kind": {"vi": "Loại", "en": "Kind"},
    "doc.status": {"vi": "Trạng thái", "en": "Status"},
    "doc.created": {"vi": "Ngày tạo", "en": "Created"},
    "doc.pages": {"vi": "Số trang", "en": "Pages"},
    "doc.number_symbol": {"vi": "Số, ký hiệu", "en": "Number and symbol"},
    "doc.files": {"vi": "Tệp", "en": "Files"},
    "doc.download": {"vi": "Tải xuống", "en": "Download"},
    "doc.text": {"vi": "Nội dung trích xuất", "en": "Extracted text"},
    "doc.text_truncated": {"vi": "(đã rút gọn)", "en": "(truncated)"},
    "status.received": {"vi": "Đã tiếp nhận, chờ xử lý", "en": "Received, waiting"},
    "status.processing": {"vi": "Đang xử lý", "en": "Processing"},
    "status.ready": {"vi": "Sẵn sàng, đã lập chỉ mục", "en": "Ready and searchable"},
    "status.failed": {"vi": "Xử lý thất bại", "en": "Processing failed"},
    "step.extracting_text": {"vi": "Đang trích xuất nội dung", "en": "Extracting text"},
    "step.indexing": {"vi": "Đang lập chỉ mục tìm kiếm", "en": "Indexing for search"},
    "step.done": {"vi": "Hoàn tất", "en": "Done"},
    "role.original": {"vi": "Bản gốc", "en": "Original"},
    "role.text": {"vi": "Văn bản trích xuất", "en": "Extracted text"},
    "role.derived": {"vi": "Bản dẫn xuất", "en": "Derived"},
    "search.title": {"vi": "Tìm kiếm văn bản", "en": "Search documents"},
    "search.placeholder": {
        "vi": "Nhập từ khóa, có hoặc không dấu, ví dụ: quyet dinh; \"cụm từ\" trong ngoặc kép",
        "en": "Words with or without Vietnamese accents; \"a phrase\" in quotes",
    },
    "search.submit": {"vi": "Tìm", "en": "Search"},
    "search.results": {"vi": "kết quả", "en": "result(s)"},
    "search.none": {"vi": "Không tìm thấy văn bản phù hợp.", "en": "No matching documents."},
    "search.all_kinds": {"vi": "Mọi loại", "en": "All kinds"},
    "search.year": {"vi": "Năm", "en": "Year"},
    "search.prev": {"vi": "Trang trước", "en": "Previous"},
    "search.next": {"vi": "Trang sau", "en": "Next"},
    "nav.verify": {"vi": "Kiểm tra chữ ký", "en": "Verify a signature"},
    "verify.title": {"vi": "Kiểm tra văn bản điện tử có chữ ký số", "en": "Verify a digitally signed document"},
    "verify.help": {
        "vi": "Tải lên tệp PDF để kiểm tra chữ ký số: ai ký, khi nào, chứng thư có tin cậy và còn hiệu lực không, văn bản có bị sửa đổi sau khi ký không. Tệp không được lưu lại.",
        "en": "Upload a PDF to check its digital signatures: who signed, when, whether the certificate is trusted and not revoked, and whether the document changed after signing. The file is not kept.",
    },
    "verify.submit": {"vi": "Kiểm tra", "en": "Verify"},
    "verify.file": {"vi": "Tệp PDF", "en": "PDF file"},
    "verify.print": {"vi": "In kết quả", "en": "Print the report"},
    "verify.verdict": {"vi": "Kết luận", "en": "Verdict"},
    "verdict.valid": {"vi": "Hợp lệ", "en": "Valid"},
    "verdict.invalid": {"vi": "Không hợp lệ", "en": "Invalid"},
    "verdict.indeterminate": {"vi": "Chưa xác định được", "en": "Indeterminate"},
    "verify.signature": {"vi": "Chữ ký", "en": "Signature"},
    "verify.signer": {"vi": "Người ký", "en": "Signer"},
    "verify.signing_time": {"vi": "Thời gian ký", "en": "Signing time"},
    "verify.timestamp": {"vi": "Dấu thời gian", "en": "Time-stamp"},
    "verify.level": {"vi": "Mức PAdES", "en": "PAdES level"},
    "verify.intact": {"vi": "Toàn vẹn", "en": "Intact"},
    "verify.trusted": {"vi": "Chứng thư tin cậy", "en": "Trusted certificate"},
    "verify.revocation": {"vi": "Tình trạng thu hồi", "en": "Revocation status"},
    "verify.modifications": {"vi": "Thay đổi sau khi ký", "en": "Changes after signing"},
    "verify.reasons": {"vi": "Chi tiết", "en": "Details"},
    "verify.yes": {"vi": "Có", "en": "Yes"},
    "verify.no": {"vi": "Không", "en": "No"},
    "revocation.good": {"vi": "Chưa bị thu hồi", "en": "Not revoked"},
    "revocation.revoked": {"vi": "Đã bị thu hồi", "en": "Revoked"},
    "revocation.unknown": {"vi": "Không xác định được", "en": "Unknown"},
    "modification.none": {"vi": "Không có", "en": "None"},
    "modification.form_filling": {"vi": "Điền biểu mẫu, ký tiếp (được phép)", "en": "Form filling, further signatures (allowed)"},
    "modification.annotations": {"vi": "Thêm chú thích", "en": "Annotations added"},
    "modification.other": {"vi": "Thay đổi nội dung", "en": "Content changed"},
    "kind.upload": {"vi": "Tải lên", "en": "Upload"},
    "kind.incoming": {"vi": "Văn bản đến", "en": "Incoming"},
    "kind.outgoing": {"vi": "Văn bản đi", "en": "Outgoing"},
    "kind.ecopy": {"vi": "Bản sao điện tử", "en": "E-copy"},
    "error.title": {"vi": "Có lỗi xảy ra", "en": "Something went wrong"},
    "error.back": {"vi": "Quay lại trang chủ", "en": "Back to the start page"},
    "error.invalid_input": {"vi": "Dữ liệu gửi lên không hợp lệ.", "en": "The request is not valid."},
    "error.conflict": {"vi": "Đã tồn tại.", "en": "It already exists."},
    "error.storage_unavailable": {
        "vi": "Kho lưu trữ tạm thời không sẵn sàng; chưa có gì được lưu. Vui lòng thử lại sau.",
        "en": "Storage is unavailable; nothing was saved. Try again shortly.",
    },
    "error.empty_file": {"vi": "Tệp rỗng.", "en": "The file is empty."},
    "error.not_a_pdf": {"vi": "Tệp không phải là PDF.", "en": "The file is not a PDF."},
    "error.encrypted_pdf": {
        "vi": "PDF có mật khẩu hoặc đã mã hóa; hãy tải lên bản không khóa.",
        "en": "The PDF is password-protected; upload an unprotected copy.",
    },
    "error.truncated_pdf": {"vi": "PDF bị cắt cụt (không đầy đủ).", "en": "The PDF is truncated."},
    "error.corrupt_pdf": {"vi": "PDF bị hỏng, không đọc được.", "en": "The PDF is damaged."},
    "error.upload_too_large": {"vi": "Tệp vượt quá dung lượng cho phép.", "en": "The file is over the size limit."},
    "error.invalid_query": {
        "vi": "Câu truy vấn không hợp lệ: hãy kiểm tra dấu ngoặc kép (phải đủ cặp) và độ dài (tối đa 500 ký tự).",
        "en": "The search query is not valid.",
    },
    "error.unauthorized": {"vi": "Sai tên đăng nhập hoặc mật khẩu.", "en": "Wrong username or password."},
    "error.forbidden": {"vi": "Bạn không có quyền thực hiện thao tác này.", "en": "You may not do this."},
    "error.not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
}


def translate(key: str, lang: str | None = None) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang or current_language(), entry["vi"])


def current_language() -> str:
    return g.get("lang", "vi")


def error_messages(lang: str | None = None) -> dict[str, str]:
    """Page texts for the API's error codes, for scripts that show API errors."""
    return {key[len("error."):]: translate(key, lang) for key in MESSAGES if key.startswith("error.")}


def language_switch_url() -> str:
    """This page in the other language, keeping its query (a search, a `next`)."""
    other = "en" if current_language() == "vi" else "vi"
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", other)]
    return f"{request.path}?{urlencode(args)}"


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(VIETNAM).strftime(fmt)


def init_app(app: Flask, default_language: str) -> None:
    app.add_template_filter(local_time)

    @app.before_request
    def _pick_language() -> None:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session["lang"] = chosen
        g.lang = session.get("lang", default_language)

    @app.context_processor
    def _template_helpers():
        return {
            "t": translate,
            "lang": current_language(),
            "language_switch_url": language_switch_url,
            "error_messages": error_messages,
        }

"""Page texts in Vietnamese (first) and English. One dictionary, one lookup."""
from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

from flask import Flask, g, request, session

from docsvc.localtime import VIETNAM  # people read times in Vietnam's time; the database keeps UTC

LANGUAGES = ("vi", "en")

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
    "upload.title": {"vi": "Tải lên văn bản, ảnh quét", "en": "Upload documents and scans"},
    "upload.help": {
        "vi": "Chọn một hoặc nhiều tệp PDF hoặc ảnh quét (JPEG, PNG, TIFF). Bản gốc được lưu nguyên vẹn; chữ được nhận dạng (OCR) ở chế độ nền.",
        "en": "Choose one or more PDFs or scans (JPEG, PNG, TIFF). The original is kept untouched; text is recognised (OCR) in the background.",
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
    "search.year": {"vi": "Năm", "en": "Year"},
    "search.prev": {"vi": "Trang trước", "en": "Previous"},
    "search.next": {"vi": "Trang sau", "en": "Next"},
    "search.page_of": {"vi": "Trang {page}/{pages}", "en": "Page {page} of {pages}"},
    "search.pages": {"vi": "Các trang kết quả", "en": "Result pages"},
    "search.more_than": {"vi": "hơn {n}", "en": "more than {n}"},
    "search.count_all_words": {"vi": "{n} văn bản có đủ mọi từ", "en": "{n} with every word"},
    # One word of a short query, up to half of a long one (search.ranking).
    "search.count_fewer_words": {
        "vi": "{n} văn bản thiếu một số từ, xếp sau", "en": "{n} lacking some of the words, listed after them",
    },
    "search.fewer_words": {"vi": "Thiếu một số từ", "en": "Lacks some words"},
    "search.fewer_words_heading": {
        "vi": "Các văn bản sau thiếu một số từ đã nhập",
        "en": "These documents lack some of the words you typed",
    },
    # Counts are left out: they would tell every user how many documents the installation holds.
    "search.index_incomplete": {
        "vi": "Chỉ mục tìm kiếm đang được cập nhật: một số văn bản chưa tìm được, kết quả có thể chưa đủ.",
        "en": "The search index is catching up: some documents cannot be found yet, so results may be incomplete.",
    },
    "search.sort": {"vi": "Sắp xếp", "en": "Order"},
    "search.sort.relevance": {"vi": "Phù hợp nhất", "en": "Best match"},
    "search.sort.newest": {"vi": "Mới nhất", "en": "Newest first"},
    "search.sort.oldest": {"vi": "Cũ nhất", "en": "Oldest first"},
    "search.date_from": {"vi": "Từ ngày", "en": "From"},
    "search.date_to": {"vi": "Đến ngày", "en": "To"},
    "search.refine": {"vi": "Thu hẹp kết quả", "en": "Narrow the results"},
    "search.active": {"vi": "Đang lọc theo", "en": "Filtered by"},
    "search.remove": {"vi": "Bỏ bộ lọc này", "en": "Remove this filter"},
    "search.clear": {"vi": "Bỏ tất cả bộ lọc", "en": "Clear all filters"},
    "search.facet.kind": {"vi": "Phân loại", "en": "Kind"},
    "search.facet.year": {"vi": "Năm", "en": "Year"},
    "search.facet.issuing_body": {"vi": "Cơ quan ban hành", "en": "Issuing body"},
    "search.facet.doc_type": {"vi": "Loại văn bản", "en": "Document type"},
    "search.facet.agency_id": {"vi": "Đơn vị lưu giữ", "en": "Agency"},
    "search.date": {"vi": "Ngày", "en": "Date"},
    "role.thumbnail": {"vi": "Ảnh thu nhỏ trang đầu", "en": "First-page thumbnail"},
    "nav.verify": {"vi": "Kiểm tra chữ ký", "en": "Verify a signature"},
    "verify.title": {"vi": "Kiểm tra văn bản điện tử có chữ ký số", "en": "Verify a digitally signed document"},
    "verify.help": {
        "vi": "Tải lên tệp PDF để kiểm tra chữ ký số: ai ký, khi nào, chứng thư có tin cậy và còn hiệu lực không, văn bản có bị sửa đổi sau khi ký không. Tệp không được lưu lại.",
        "en": "Upload a PDF to check its digital signatures: who signed, when, whether the certificate is trusted and not revoked, and whether the document changed after signing. The file is not kept.",
    },
    "verify.submit": {"vi": "Kiểm tra", "en": "Verify"},
    "verify.file": {"vi": "Tệp PDF", "en": "PDF file"},
    "verify.print": {"vi": "In kết quả", "en": "Print the report"},
    "verify.pdf": {"vi": "Kiểm tra và tải báo cáo PDF", "en": "Verify and download a PDF report"},
    "report_pdf.checked_at": {"vi": "Thời điểm kiểm tra", "en": "Checked at"},
    "report_pdf.no_signatures": {"vi": "Tệp không có chữ ký số nào.", "en": "The file has no digital signature."},
    "report_pdf.footer": {
        "vi": "Báo cáo do hệ thống docsvc lập tự động từ tệp đã tải lên; tệp không được lưu lại.",
        "en": "Made by docsvc from the uploaded file; the file was not kept.",
    },
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
    "error.wrong_workflow_step": {
        "vi": "Văn bản không ở bước cho phép thao tác này (có thể người khác vừa xử lý); hãy tải lại trang.",
        "en": "The document is not at the step this action belongs to; reload the page.",
    },
    "error.comment_required": {"vi": "Hãy ghi rõ lý do trả lại dự thảo.", "en": "Say why the draft goes back."},
    "error.no_signing_key": {
        "vi": "Chưa có khóa ký số cho chữ ký này; đề nghị quản trị viên cấu hình (docsvc key add).",
        "en": "No signing key is set up for this signature; ask the administrator.",
    },
    "error.too_many_requests": {
        "vi": "Quá nhiều lượt kiểm tra từ địa chỉ này; vui lòng đợi một lát rồi thử lại.",
        "en": "Too many requests from this address; wait a little and try again.",
    },
    "error.too_many_sign_ins": {
        "vi": "Quá nhiều lần đăng nhập vào tài khoản này hoặc từ địa chỉ này; vui lòng đợi rồi thử lại.",
        "en": "Too many sign-in attempts for this account or from this address; wait and try again.",
    },
    "login.retry_after": {"vi": "Có thể thử lại sau {seconds} giây.", "en": "You may try again in {seconds} seconds."},
    "error.share_refused": {
        "vi": "Liên kết chia sẻ này không còn hiệu lực (đã hết hạn, đã dùng hết lượt, đã bị thu hồi).",
        "en": "This share link no longer works (expired, used up or withdrawn).",
    },
    "error.invalid_verification_code": {
        "vi": "Mã kiểm tra không đúng: hãy kiểm tra lại từng ký tự trên bản giấy.",
        "en": "The verification code is not valid: check each character on the paper.",
    },
    # Fields checked by docsvc.validation, and the rules of the workflows.
    "error.invalid_characters": {
        "vi": "Nội dung có ký tự không lưu được (ký tự NUL hoặc ký tự điều khiển); hãy gõ lại hoặc dán lại văn bản thuần.",
        "en": "The text has a character that cannot be stored (a NUL byte or another control character); type or paste it again as plain text.",
    },
    "error.text_too_long": {"vi": "Nội dung dài quá mức cho phép của ô này.", "en": "The text is longer than this field allows."},
    "error.out_of_range": {
        "vi": "Giá trị nằm ngoài khoảng cho phép (số trang, năm hoặc ngày).",
        "en": "The value is outside the allowed range (page, year or date).",
    },
    "error.reversed_date_range": {
        "vi": "Khoảng ngày không hợp lệ: \"Từ ngày\" phải trước hoặc trùng \"Đến ngày\".",
        "en": "The date range is back to front: \"From\" must not be after \"To\".",
    },
    "error.invalid_citizen_id": {
        "vi": "Số định danh cá nhân phải gồm đúng 12 chữ số của thẻ căn cước công dân.",
        "en": "The citizen ID must be the 12 digits of the citizen's identity card (CCCD).",
    },
    "error.citizen_id_taken": {
        "vi": "Số định danh cá nhân này đã thuộc về một tài khoản khác.",
        "en": "Another account already has this citizen ID.",
    },
    "error.not_the_drafter": {
        "vi": "Chỉ người soạn thảo mới được trình ký dự thảo của mình.",
        "en": "Only the person who drafted this document can submit it.",
    },
    "error.record_not_deletable": {
        "vi": "Văn bản đã vào sổ hoặc đã được ký là hồ sơ lưu trữ, không thể xóa (kể cả khi chưa ban hành).",
        "en": "A registered or signed document is a record and cannot be deleted, even before it is issued.",
    },
    "error.wrong_register": {
        "vi": "Văn bản đi (dự thảo của cơ quan) không thể vào sổ văn bản đến hoặc cấp bản sao trước khi ban hành.",
        "en": "An outgoing document cannot be registered in the incoming book, nor certified before it is issued.",
    },
    "error.invalid_replacement": {
        "vi": "Bản sao thay thế phải là một bản sao khác, còn hiệu lực, do cùng cơ quan cấp.",
        "en": "The replacing e-copy must be another active e-copy issued by the same agency.",
    },
    # Incoming register and handling (clerks, handlers).
    "nav.queue": {"vi": "Việc của tôi", "en": "My queue"},
    "nav.register": {"vi": "Sổ văn bản đến", "en": "Incoming register"},
    "step.converting": {"vi": "Đang chuyển ảnh quét thành PDF", "en": "Turning the scan into a PDF"},
    "step.ocr": {"vi": "Đang nhận dạng chữ (OCR)", "en": "Recognising text (OCR)"},
    "step.failed": {"vi": "Thất bại", "en": "Failed"},
    "register.entry": {"vi": "Vào sổ văn bản đến", "en": "Incoming register entry"},
    "register.book_title": {"vi": "Sổ đăng ký văn bản đến", "en": "Incoming register"},
    "register.number": {"vi": "Số đến", "en": "Incoming no."},
    "register.received_date": {"vi": "Ngày đến", "en": "Date received"},
    "register.issuing_body": {"vi": "Cơ quan ban hành", "en": "Issuing body"},
    "register.number_symbol": {"vi": "Số, ký hiệu", "en": "Number and symbol"},
    "register.issued_date": {"vi": "Ngày văn bản", "en": "Date of the document"},
    "register.doc_type": {"vi": "Loại văn bản", "en": "Document type"},
    "register.summary": {"vi": "Trích yếu nội dung", "en": "Summary"},
    "register.confirm_title": {"vi": "Kiểm tra thông tin và vào sổ văn bản đến", "en": "Check the fields and register"},
    "register.wait_for_ocr": {
        "vi": "Đang nhận dạng chữ; các ô sẽ được gợi ý khi xong. Có thể nhập tay và vào sổ ngay.",
        "en": "Text recognition is running; the fields are suggested when it finishes. You may type them and register now.",
    },
    "register.duplicate": {
        "vi": "Tệp này giống hệt một văn bản đã vào sổ:",
        "en": "This file is identical to a document already registered:",
    },
    "register.allow_duplicate": {
        "vi": "Đây đúng là một bản khác, vẫn vào sổ với số mới",
        "en": "This really is another copy: register it with a new number",
    },
    "register.submit": {"vi": "Xác nhận và vào sổ", "en": "Confirm and register"},
    "register.discard": {"vi": "Hủy tệp này", "en": "Discard this upload"},
    "register.filter": {"vi": "Lọc", "en": "Filter"},
    "register.filter_help": {"vi": "Số đến, số ký hiệu, cơ quan, trích yếu", "en": "Number, symbol, body, summary"},
    "register.empty": {"vi": "Chưa có văn bản nào trong sổ.", "en": "The register is empty."},
    "handling.status": {"vi": "Tình trạng xử lý", "en": "Handling"},
    "handling.received": {"vi": "Đã vào sổ, chờ giao", "en": "Registered, not assigned"},
    "handling.assigned": {"vi": "Đã giao xử lý", "en": "Assigned"},
    "handling.in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "handling.done": {"vi": "Đã xử lý xong", "en": "Done"},
    "handling.overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "handling.handler": {"vi": "Người/đơn vị xử lý", "en": "Handler"},
    "handling.person": {"vi": "Người xử lý", "en": "Person"},
    "handling.department": {"vi": "Phòng ban", "en": "Department"},
    "handling.deadline": {"vi": "Hạn xử lý", "en": "Deadline"},
    "handling.note": {"vi": "Ý kiến", "en": "Comment"},
    "handling.assign": {"vi": "Giao xử lý", "en": "Assign"},
    "handling.assign_submit": {"vi": "Giao", "en": "Assign"},
    "handling.to.in_progress": {"vi": "Bắt đầu xử lý", "en": "Start"},
    "handling.to.done": {"vi": "Hoàn thành", "en": "Mark done"},
    "queue.title": {"vi": "Văn bản tôi cần xử lý", "en": "Documents I must handle"},
    "queue.help": {"vi": "Văn bản giao cho bạn hoặc phòng ban của bạn; quá hạn xếp trước.", "en": "Assigned to you or your department; overdue first."},
    "queue.none": {"vi": "Không có văn bản nào đang chờ bạn.", "en": "Nothing is waiting for you."},
    "queue.with_done": {"vi": "Xem cả văn bản đã xong", "en": "Show finished ones too"},
    "queue.open_only": {"vi": "Chỉ văn bản chưa xong", "en": "Open ones only"},
    "error.duplicate_document": {
        "vi": "Tệp này đã được vào sổ văn bản đến; chỉ vào sổ lại nếu đúng là một bản khác.",
        "en": "This file is already in the incoming register.",
    },
    "error.register_entry_permanent": {
        "vi": "Văn bản đã vào sổ (hoặc đã được chứng thực) là hồ sơ: giữ nguyên số trong sổ và không thể xóa.",
        "en": "A registered (or certified) document is a record: it keeps its register entry and cannot be deleted.",
    },
    "error.audit_key_missing": {
        "vi": "Thiếu khóa của nhật ký kiểm tra (audit); không thể kiểm tra nhật ký.",
        "en": "The audit log's key is missing; the log cannot be checked.",
    },
    "error.audit_tampered": {
        "vi": "Nhật ký kiểm tra (audit) đã bị sửa đổi.",
        "en": "The audit log has been altered.",
    },
    "error.unsupported_format": {
        "vi": "Định dạng không được hỗ trợ: chỉ nhận PDF, JPEG, PNG, TIFF.",
        "en": "Unsupported format: PDF, JPEG, PNG and TIFF are accepted.",
    },
    "error.corrupt_image": {"vi": "Ảnh quét bị hỏng, không đọc được.", "en": "The image is damaged."},
    "error.decompression_bomb": {
        "vi": "Ảnh có kích thước điểm ảnh quá lớn (nghi là tệp độc hại); không được nhận.",
        "en": "The image declares too many pixels and was refused.",
    },
    "error.too_many_pages": {"vi": "Tệp có quá nhiều trang so với giới hạn cho phép.", "en": "The file has more pages than allowed."},
    "error.ocr_failed": {"vi": "Không nhận dạng được chữ trong tệp này.", "en": "Text recognition failed for this file."},
    "error.file_too_complex": {
        "vi": "Tệp quá phức tạp để đọc trong giới hạn của hệ thống (có thể bị hỏng hoặc cố ý làm quá tải); "
              "hãy lưu lại (in ra PDF) rồi thử lại.",
        "en": "The file is too complex to read within the service's limits (damaged, or built to overload a reader); "
              "save it again (print to PDF) and retry.",
    },
    "error.busy": {
        "vi": "Hệ thống đang đọc quá nhiều tệp cùng lúc; vui lòng thử lại sau vài giây.",
        "en": "The service is reading too many files at once; try again in a few seconds.",
    },
    "report.nav": {"vi": "Báo cáo", "en": "Reports"},
    "report.title": {"vi": "Báo cáo tình hình tiếp nhận, xử lý văn bản đến", "en": "Incoming documents: received and handled"},
    "report.from": {"vi": "Từ ngày", "en": "From"},
    "report.to": {"vi": "Đến ngày", "en": "To"},
    "report.agency": {"vi": "Cơ quan", "en": "Agency"},
    "report.show": {"vi": "Xem báo cáo", "en": "Show the report"},
    "report.invalid": {"vi": "Kỳ báo cáo không hợp lệ.", "en": "The period is not valid."},
    "report.period": {"vi": "Kỳ báo cáo", "en": "Period"},
    "report.count.carried_over": {"vi": "Kỳ trước chuyển sang", "en": "Carried over"},
    "report.count.received": {"vi": "Tiếp nhận trong kỳ", "en": "Received"},
    "report.count.processed": {"vi": "Đã xử lý trong kỳ", "en": "Processed"},
    "report.count.processed_on_time": {"vi": "Trong đó đúng hạn", "en": "of which on time"},
    "report.count.processed_late": {"vi": "Trong đó quá hạn", "en": "of which late"},
    "report.count.in_progress_at_end": {"vi": "Đang xử lý cuối kỳ", "en": "In progress at the end"},
    "report.count.overdue_at_end": {"vi": "Trong đó quá hạn xử lý", "en": "of which overdue"},
    "report.help": {
        "vi": "Ngày tính theo giờ Việt Nam. Văn bản không có hạn xử lý được tính là đúng hạn. Kỳ trước chuyển sang + tiếp nhận − đã xử lý = đang xử lý cuối kỳ.",
        "en": "Days in Vietnam time. Documents without a deadline count as on time. Carried over + received − processed = in progress at the end.",
    },
    "report.download_csv": {"vi": "Tải CSV", "en": "Download CSV"},
    "report.download_xlsx": {"vi": "Tải Excel (để in)", "en": "Download Excel (to print)"},
    "report.print": {"vi": "In trang này", "en": "Print this page"},
    "report.by_type": {"vi": "Theo loại văn bản", "en": "By document type"},
    "report.untyped": {"vi": "Chưa phân loại", "en": "No type"},
    "report.register": {"vi": "Sổ văn bản đến trong kỳ", "en": "Register entries of the period"},
    "report.none": {"vi": "Không có văn bản đến trong kỳ.", "en": "No incoming documents in this period."},
    "report.col.number": {"vi": "Số đến", "en": "No."},
    "report.col.received_date": {"vi": "Ngày đến", "en": "Received"},
    "report.col.issuing_body": {"vi": "Nơi gửi", "en": "From"},
    "report.col.number_symbol": {"vi": "Số, ký hiệu", "en": "Number and symbol"},
    "report.col.issued_date": {"vi": "Ngày văn bản", "en": "Dated"},
    "report.col.doc_type": {"vi": "Loại văn bản", "en": "Type"},
    "report.col.title": {"vi": "Trích yếu", "en": "Summary"},
    "report.col.handler": {"vi": "Người/đơn vị xử lý", "en": "Handled by"},
    "report.col.deadline": {"vi": "Hạn xử lý", "en": "Deadline"},
    "report.col.status": {"vi": "Trạng thái", "en": "Status"},
    "report.col.handled_date": {"vi": "Ngày xử lý xong", "en": "Handled on"},
    "report.status.received": {"vi": "Chưa giao xử lý", "en": "Not assigned"},
    "report.status.assigned": {"vi": "Đã giao xử lý", "en": "Assigned"},
    "report.status.in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "report.status.done": {"vi": "Đã xử lý xong", "en": "Done"},
    "report.timeliness.on_time": {"vi": "đúng hạn", "en": "on time"},
    "report.timeliness.late": {"vi": "trễ hạn", "en": "late"},
    "report.timeliness.overdue": {"vi": "quá hạn", "en": "overdue"},
    "report.timeliness.within": {"vi": "trong hạn", "en": "within the deadline"},
    # Outgoing documents (văn bản đi) and signing: /outgoing, the document page, /signing.
    "outgoing.nav": {"vi": "Văn bản đi", "en": "Outgoing"},
    "outgoing.title": {"vi": "Văn bản đi: dự thảo, trình ký, phát hành", "en": "Outgoing documents: drafts, signing, issue"},
    "outgoing.upload_help": {
        "vi": "Tải lên bản dự thảo (PDF). Sau đó mở văn bản để trình lãnh đạo ký và chọn nơi nhận.",
        "en": "Upload the draft (PDF). Then open it to submit it to a leader for signature and choose its recipients.",
    },
    "outgoing.choose_draft": {"vi": "Chọn tệp dự thảo (PDF)", "en": "Choose the draft (PDF)"},
    "outgoing.upload": {"vi": "Tải lên dự thảo", "en": "Upload the draft"},
    "outgoing.uploaded": {"vi": "Đã tải lên, mở để trình ký", "en": "Uploaded: open it to submit"},
    "outgoing.mine": {"vi": "Dự thảo của tôi", "en": "My drafts"},
    "outgoing.mine_none": {"vi": "Bạn chưa có dự thảo nào.", "en": "You have no drafts."},
    "outgoing.to_sign": {"vi": "Chờ tôi ký", "en": "Waiting for my signature"},
    "outgoing.to_sign_none": {"vi": "Không có văn bản nào chờ bạn ký.", "en": "Nothing is waiting for your signature."},
    "outgoing.to_issue": {"vi": "Chờ cấp số, đóng dấu, phát hành", "en": "Waiting to be numbered, sealed and issued"},
    "outgoing.to_issue_none": {"vi": "Không có văn bản nào chờ phát hành.", "en": "Nothing is waiting to be issued."},
    "outgoing.section": {"vi": "Văn bản đi", "en": "Outgoing document"},
    "outgoing.workflow": {"vi": "Bước xử lý", "en": "Stage"},
    "outgoing.status.draft": {"vi": "Dự thảo", "en": "Draft"},
    "outgoing.status.submitted": {"vi": "Đã trình, chờ lãnh đạo ký", "en": "Submitted, waiting for the signature"},
    "outgoing.status.returned": {"vi": "Lãnh đạo trả lại", "en": "Sent back by the leader"},
    "outgoing.status.signed": {"vi": "Lãnh đạo đã ký, chờ phát hành", "en": "Signed, waiting to be issued"},
    "outgoing.status.issued": {"vi": "Đã phát hành", "en": "Issued"},
    "outgoing.drafter": {"vi": "Người soạn thảo", "en": "Drafted by"},
    "outgoing.drafted": {"vi": "Ngày soạn", "en": "Drafted"},
    "outgoing.approver": {"vi": "Lãnh đạo ký", "en": "Leader who signs"},
    "outgoing.recipients": {"vi": "Nơi nhận", "en": "Recipients"},
    "outgoing.no_other_agencies": {"vi": "Chưa có cơ quan nào khác trong hệ thống.", "en": "There are no other agencies."},
    "outgoing.signed_at": {"vi": "Thời điểm ký", "en": "Signed at"},
    "outgoing.returned_comment": {"vi": "Ý kiến của lãnh đạo:", "en": "The leader's comment:"},
    "outgoing.submit_title": {"vi": "Trình lãnh đạo ký", "en": "Submit for signature"},
    "outgoing.submit": {"vi": "Trình ký", "en": "Submit"},
    "outgoing.help.draft": {"vi": "Dự thảo đang chờ người soạn trình ký.", "en": "The draft waits for its drafter to submit it."},
    "outgoing.help.submitted": {"vi": "Đang chờ lãnh đạo ký.", "en": "Waiting for the leader's signature."},
    "outgoing.help.signed": {
        "vi": "Lãnh đạo đã ký; văn thư cấp số, ngày, đóng dấu và phát hành.",
        "en": "Signed; the văn thư numbers, dates, seals and issues it.",
    },
    "outgoing.sign_title": {"vi": "Ký duyệt văn bản", "en": "Sign the document"},
    "outgoing.place_help": {
        "vi": "Bấm vào trang để đặt chữ ký (góc trên bên trái của khung ký). Không bấm thì chữ ký đặt ở vị trí mặc định.",
        "en": "Click on the page to place your signature (the top-left corner of its box). Without a click it goes to the default place.",
    },
    "outgoing.page": {"vi": "Trang", "en": "Page"},
    "outgoing.preview_alt": {"vi": "Trang văn bản sẽ ký", "en": "The page to sign"},
    "outgoing.signature_here": {"vi": "Chữ ký", "en": "Signature"},
    "outgoing.placement_default": {"vi": "Chữ ký ở vị trí mặc định.", "en": "The signature goes to the default place."},
    "outgoing.placement_chosen": {"vi": "Chữ ký ở vị trí bạn đã chọn.", "en": "The signature goes where you clicked."},
    "outgoing.passphrase": {"vi": "Mật khẩu khóa ký số (mã PIN)", "en": "Signing key passphrase (PIN)"},
    "outgoing.no_personal_key": {
        "vi": "Bạn chưa được cấp khóa ký số trong hệ thống; đề nghị quản trị viên cài đặt (docsvc key add).",
        "en": "No signing key is set up for you; ask the administrator (docsvc key add).",
    },
    "outgoing.sign": {"vi": "Ký số", "en": "Sign"},
    "outgoing.return_comment": {"vi": "Ý kiến khi trả lại (bắt buộc)", "en": "Why it goes back (required)"},
    "outgoing.return": {"vi": "Trả lại", "en": "Send back"},
    "outgoing.issue_title": {"vi": "Cấp số, ngày ban hành và đóng dấu", "en": "Number, date and seal"},
    "outgoing.issue_date": {"vi": "Ngày ban hành", "en": "Issue date"},
    "outgoing.agency_passphrase": {"vi": "Mật khẩu khóa ký số của cơ quan", "en": "The agency key's passphrase"},
    "outgoing.no_agency_key": {
        "vi": "Cơ quan chưa có khóa ký số (con dấu số); đề nghị quản trị viên cài đặt (docsvc key add).",
        "en": "The agency has no signing key (digital seal); ask the administrator (docsvc key add).",
    },
    "outgoing.issue": {"vi": "Cấp số, đóng dấu và phát hành", "en": "Number, seal and issue"},
    "outgoing.sent_to": {"vi": "Đã gửi đến", "en": "Sent to"},
    "outgoing.no_recipients": {"vi": "Không gửi cơ quan nào trong hệ thống", "en": "No agency in the system"},
    "outgoing.download_issued": {"vi": "Tải văn bản đã ký số (PDF)", "en": "Download the signed PDF"},
    "outgoing.verify_link": {"vi": "Kiểm tra chữ ký số của văn bản", "en": "Verify its signatures"},
    "role.prepared": {"vi": "Bản dự thảo để ký", "en": "Prepared for signing"},
    "role.signed": {"vi": "Bản đã ký số", "en": "Signed"},
    "signing.nav": {"vi": "Ký số", "en": "Sign"},
    "signing.title": {"vi": "Ký số nhiều văn bản", "en": "Sign several documents"},
    "signing.help": {
        "vi": "Chọn các văn bản cần ký, nhập mật khẩu khóa ký số một lần; chữ ký đặt ở vị trí đã định của từng văn bản.",
        "en": "Tick the documents, type your key's passphrase once; each signature goes where its document says.",
    },
    "signing.open_batch": {"vi": "Ký nhiều văn bản cùng lúc", "en": "Sign several at once"},
    "signing.select_all": {"vi": "Chọn tất cả", "en": "Select all"},
    "signing.result": {"vi": "Kết quả", "en": "Result"},
    "signing.submit": {"vi": "Ký các văn bản đã chọn", "en": "Sign the ticked documents"},
    "signing.none": {"vi": "Không có văn bản nào chờ bạn ký.", "en": "Nothing is waiting for your signature."},
    "signing.progress": {"vi": "Đã ký {done}/{total}", "en": "Signed {done}/{total}"},
    "signing.failed_count": {"vi": "lỗi {failed}", "en": "{failed} failed"},
    "signing.ok": {"vi": "Đã ký", "en": "Signed"},
    "signing.error": {"vi": "Lỗi", "en": "Failed"},
    "signing.choose": {"vi": "Chọn ít nhất một văn bản.", "en": "Tick at least one document."},
    "signing.stopped": {"vi": "Việc ký bị gián đoạn; hãy tải lại trang.", "en": "Signing stopped; reload the page."},
    "signing.finished": {"vi": "Đã xong.", "en": "Finished."},
    "signing.open_document": {"vi": "Mở văn bản", "en": "Open"},
    "error.signing_error": {"vi": "Không ký được văn bản.", "en": "The document could not be signed."},
    "error.wrong_passphrase": {
        "vi": "Mật khẩu (mã PIN) không mở được khóa ký số. Vui lòng nhập lại.",
        "en": "The passphrase or PIN does not open the key.",
    },
    "error.key_not_found": {"vi": "Không tìm thấy khóa ký số (tệp khóa hoặc thiết bị ký).", "en": "The signing key was not found."},
    "error.certificate_revoked": {"vi": "Chứng thư số đã bị thu hồi.", "en": "The signing certificate has been revoked."},
    "error.certificate_expired": {
        "vi": "Chứng thư số đã hết hạn hoặc chưa có hiệu lực.",
        "en": "The signing certificate is expired or not yet valid.",
    },
    "error.certificate_untrusted": {"vi": "Chứng thư số không thuộc tổ chức cung cấp dịch vụ tin cậy.", "en": "The signing certificate is not trusted."},
    "error.timestamp_unavailable": {
        "vi": "Không kết nối được máy chủ cấp dấu thời gian; vui lòng thử lại sau.",
        "en": "The time-stamping service could not be reached.",
    },
    "error.revocation_unavailable": {
        "vi": "Không kiểm tra được tình trạng thu hồi của chứng thư số (OCSP/CRL); vui lòng thử lại sau.",
        "en": "The certificate's revocation status could not be obtained.",
    },
    "error.invalid_appearance": {"vi": "Không đặt được hình chữ ký vào vị trí này trên văn bản.", "en": "The signature cannot be placed there."},
    "error.field_already_signed": {"vi": "Ô chữ ký này đã được ký.", "en": "That signature field is already signed."},
    "error.remote_signing_unavailable": {"vi": "Không kết nối được dịch vụ ký số từ xa.", "en": "The remote signing service is unavailable."},
    "error.remote_signing_login_failed": {"vi": "Đăng nhập dịch vụ ký số từ xa không thành công.", "en": "Remote signing login failed."},
    "error.remote_signing_not_authorized": {"vi": "Dịch vụ ký số từ xa không cho phép ký (sai mã PIN/OTP).", "en": "Remote signing was not authorised."},
    "error.remote_signing_refused": {"vi": "Dịch vụ ký số từ xa từ chối yêu cầu ký.", "en": "The remote signing service refused."},
    # Citizens' e-copies: the document page, /cong-dan, /s/<token>, /v/<code> and /verify.
    "ecopy.nav": {"vi": "Bản sao của tôi", "en": "My e-copies"},
    "ecopy.issue_title": {"vi": "Cấp bản sao điện tử", "en": "Issue an e-copy"},
    "ecopy.issue_help": {
        "vi": "Trang đầu được đóng dấu chứng thực (số chứng thực, ngày, mã QR, mã kiểm tra) và ký số bằng khóa của cơ quan; công dân nhận bản sao trong mục \"Bản sao của tôi\".",
        "en": "Page one is stamped with the certification (number, date, QR code, verification code) and signed with the agency's key; the citizen finds it under \"My e-copies\".",
    },
    "ecopy.citizen_id": {"vi": "Số định danh cá nhân (CCCD, 12 chữ số)", "en": "Citizen ID (12 digits)"},
    "ecopy.kind": {"vi": "Loại", "en": "Kind"},
    "ecopy.kind.certified_copy": {"vi": "Chứng thực bản sao từ bản chính", "en": "Certified copy of an original"},
    "ecopy.kind.procedure_result": {"vi": "Kết quả giải quyết TTHC", "en": "Result of an administrative procedure"},
    "ecopy.issue": {"vi": "Cấp bản sao điện tử", "en": "Issue the e-copy"},
    "ecopy.code": {"vi": "Mã kiểm tra", "en": "Verification code"},
    "ecopy.certification_number": {"vi": "Số chứng thực", "en": "Certification number"},
    "ecopy.verify_url": {"vi": "Địa chỉ kiểm tra (mã QR)", "en": "Verification address (QR code)"},
    "ecopy.status": {"vi": "Tình trạng", "en": "Status"},
    "ecopy.status.active": {"vi": "Còn hiệu lực", "en": "Valid"},
    "ecopy.status.revoked": {"vi": "Đã bị thu hồi", "en": "Revoked"},
    "ecopy.status.superseded": {"vi": "Đã được thay thế", "en": "Superseded"},
    "ecopy.status.unknown": {"vi": "Không có trong hệ thống", "en": "Not in the register"},
    "ecopy.reason_shown": {"vi": "Lý do:", "en": "Reason:"},
    "ecopy.replaced_by": {"vi": "Thay thế bằng bản sao điện tử", "en": "Replaced by the e-copy"},
    "ecopy.change_title": {"vi": "Thu hồi hoặc thay thế bản sao điện tử", "en": "Revoke or supersede the e-copy"},
    "ecopy.reason": {"vi": "Lý do (bắt buộc, người kiểm tra sẽ thấy)", "en": "Reason (required; shown to whoever verifies)"},
    "ecopy.replacing_code": {"vi": "Mã của bản sao thay thế (khi thay thế)", "en": "Code of the replacing e-copy (to supersede)"},
    "ecopy.revoke": {"vi": "Thu hồi", "en": "Revoke"},
    "ecopy.supersede": {"vi": "Thay thế", "en": "Supersede"},
    "ecopy.portal_title": {"vi": "Bản sao điện tử của tôi", "en": "My e-copies"},
    "ecopy.portal_help": {
        "vi": "Bản sao điện tử và kết quả giải quyết thủ tục hành chính do cơ quan nhà nước cấp cho bạn, có giá trị pháp lý để sử dụng lại. Tạo liên kết chia sẻ để gửi cho cơ quan cần hồ sơ.",
        "en": "The e-copies and procedure results agencies issued to you, with legal value for reuse. Create a share link to give one to an agency.",
    },
    "ecopy.none": {"vi": "Bạn chưa có bản sao điện tử nào.", "en": "You have no e-copies yet."},
    "ecopy.issuer": {"vi": "Cơ quan cấp", "en": "Issued by"},
    "ecopy.issued_at": {"vi": "Ngày cấp", "en": "Issued on"},
    "ecopy.download": {"vi": "Tải bản sao (PDF)", "en": "Download (PDF)"},
    "ecopy.check": {"vi": "Kiểm tra tình trạng và chữ ký số", "en": "Check its status and signatures"},
    "ecopy.share_title": {"vi": "Tạo liên kết chia sẻ", "en": "Create a share link"},
    "ecopy.recipient": {"vi": "Gửi cho", "en": "For"},
    "ecopy.recipient_example": {"vi": "Ví dụ: Chi cục Thuế", "en": "e.g. the tax office"},
    "ecopy.days": {"vi": "Hiệu lực (ngày)", "en": "Valid for (days)"},
    "ecopy.max_uses": {"vi": "Số lượt tải tối đa", "en": "Downloads allowed"},
    "ecopy.share": {"vi": "Tạo liên kết", "en": "Create the link"},
    "ecopy.share_created": {"vi": "Đã tạo liên kết chia sẻ bản sao", "en": "Share link created for"},
    "ecopy.share_once": {
        "vi": "Hãy sao chép liên kết ngay: liên kết chỉ hiển thị một lần, hệ thống không lưu lại.",
        "en": "Copy the link now: it is shown only once and is not stored.",
    },
    "ecopy.copy": {"vi": "Sao chép", "en": "Copy"},
    "ecopy.copied": {"vi": "Đã sao chép", "en": "Copied"},
    "ecopy.shares": {"vi": "Liên kết đã chia sẻ", "en": "Share links"},
    "ecopy.created": {"vi": "Ngày tạo", "en": "Created"},
    "ecopy.expires": {"vi": "Hết hạn", "en": "Expires"},
    "ecopy.uses": {"vi": "Đã dùng", "en": "Used"},
    "ecopy.accesses": {"vi": "Lượt truy cập", "en": "Accesses"},
    "ecopy.no_access": {"vi": "Chưa có", "en": "None yet"},
    "ecopy.withdraw": {"vi": "Thu hồi liên kết", "en": "Withdraw"},
    "ecopy.share_state.granted": {"vi": "Còn hiệu lực", "en": "Active"},
    "ecopy.share_state.expired": {"vi": "Đã hết hạn", "en": "Expired"},
    "ecopy.share_state.used_up": {"vi": "Đã hết lượt", "en": "Used up"},
    "ecopy.share_state.withdrawn": {"vi": "Đã thu hồi", "en": "Withdrawn"},
    "ecopy.share_state.revoked": {"vi": "Bản sao đã bị thu hồi", "en": "E-copy revoked"},
    "ecopy.access.granted": {"vi": "Đã tải tệp", "en": "Downloaded"},
    "ecopy.access.expired": {"vi": "Từ chối: hết hạn", "en": "Refused: expired"},
    "ecopy.access.used_up": {"vi": "Từ chối: hết lượt", "en": "Refused: used up"},
    "ecopy.access.withdrawn": {"vi": "Từ chối: đã thu hồi", "en": "Refused: withdrawn"},
    "ecopy.access.revoked": {"vi": "Từ chối: bản sao đã bị thu hồi", "en": "Refused: e-copy revoked"},
    "ecopy.share_page_title": {"vi": "Bản sao điện tử được chia sẻ", "en": "A shared e-copy"},
    "ecopy.share_page_help": {
        "vi": "Công dân đã chia sẻ với bạn bản sao điện tử dưới đây. Tệp có chữ ký số của cơ quan cấp; mỗi lần tải được ghi lại.",
        "en": "A citizen shared this e-copy with you. The file carries the issuing agency's digital signature; every download is recorded.",
    },
    "ecopy.share_counts": {"vi": "Mỗi lần tải tính một lượt của liên kết.", "en": "Each download uses the link once."},
    "ecopy.refused.withdrawn": {"vi": "Công dân đã thu hồi liên kết chia sẻ này.", "en": "The citizen has withdrawn this share link."},
    "ecopy.refused.expired": {
        "vi": "Liên kết chia sẻ này đã hết hạn; đề nghị công dân tạo liên kết mới.",
        "en": "This share link has expired; ask the citizen for a new one.",
    },
    "ecopy.refused.used_up": {
        "vi": "Liên kết chia sẻ này đã được dùng hết số lượt công dân cho phép.",
        "en": "This share link has been used as many times as the citizen allowed.",
    },
    "ecopy.refused.revoked": {
        "vi": "Bản sao điện tử của liên kết này đã bị cơ quan cấp thu hồi hoặc thay thế.",
        "en": "The e-copy behind this link has been revoked or superseded by its issuer.",
    },
    "ecopy.verify_title": {"vi": "Kiểm tra bản sao điện tử bằng mã", "en": "Verify an e-copy by its code"},
    "ecopy.verify_help": {
        "vi": "Nhập mã kiểm tra in dưới mã QR trên bản sao (không phân biệt chữ hoa, chữ thường; có thể bỏ dấu gạch). Kết quả cho biết cơ quan cấp, ngày cấp, tình trạng và chữ ký số; không hiển thị thông tin của công dân.",
        "en": "Type the code printed under the QR code (any case, hyphens optional). You see the issuer, the date, the status and the signatures; never the citizen's data.",
    },
    "ecopy.enter_code": {"vi": "Nhập mã kiểm tra", "en": "Enter the verification code"},
    "ecopy.check_code": {"vi": "Kiểm tra mã", "en": "Check the code"},
    "ecopy.code_error.not_found": {
        "vi": "Không có bản sao điện tử nào mang mã này. Hãy đối chiếu mã trên bản giấy hoặc quét mã QR.",
        "en": "No e-copy has this code. Check the code on the paper or scan its QR code.",
    },
    "ecopy.signatures": {"vi": "Chữ ký số", "en": "Digital signatures"},
    "ecopy.verify_file_hint": {
        "vi": "Để biết tệp bạn có đúng là tệp đã đăng ký, hãy tải tệp lên trang",
        "en": "To know whether the file you hold is the registered one, upload it on",
    },
    "ecopy.file_matches": {"vi": "tệp này đúng là tệp đã đăng ký.", "en": "this file is the registered file."},
    "ecopy.file_differs": {"vi": "tệp này KHÔNG đúng là tệp đã đăng ký.", "en": "this file is NOT the registered file."},
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
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM).strftime(fmt)


def number(value: int, lang: str | None = None) -> str:
    """A whole number as people write it: 10.000 in Vietnamese, 10,000 in English."""
    written = f"{value:,}"
    return written.replace(",", ".") if (lang or current_language()) == "vi" else written


def count_text(count) -> str:
    """A count of matches (docsvc.presenters.Count): "hơn 10.000" when the index stopped counting."""
    written = number(count.value)
    return written if count.exact else translate("search.more_than").format(n=written)


def local_date(value: date | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y" if current_language() == "vi" else "%d %b %Y")


def init_app(app: Flask, default_language: str) -> None:
    app.add_template_filter(local_time)
    app.add_template_filter(local_date)
    app.add_template_filter(number)
    app.add_template_filter(count_text)

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

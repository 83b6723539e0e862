"""The public pages' words, in Indonesian and English; templates ask for them by key."""

from __future__ import annotations

LANGUAGES = ("id", "en")

TEXT: dict[str, dict[str, str]] = {
    "skip": {"id": "Langsung ke isi", "en": "Skip to content"},
    "nav_report": {"id": "Laporkan masalah", "en": "Report a problem"},
    "nav_status": {"id": "Cek status tiket", "en": "Check a ticket"},
    "language": {"id": "Bahasa", "en": "Language"},
    "report_title": {"id": "Laporkan masalah TIK", "en": "Report an IT problem"},
    "report_intro": {
        "id": "Isi formulir ini; kami mengirim nomor tiket dan kabar berikutnya ke email atau "
        "nomor telepon Anda.",
        "en": "Fill in this form; we send the ticket number and further news to your email "
        "or phone number.",
    },
    "required": {"id": "wajib", "en": "required"},
    "name": {"id": "Nama", "en": "Name"},
    "agency": {"id": "Instansi / unit kerja", "en": "Agency / department"},
    "contact": {"id": "Cara menghubungi Anda", "en": "How to reach you"},
    "contact_hint": {
        "id": "Isi email, nomor telepon, atau keduanya.",
        "en": "Give an email address, a phone number, or both.",
    },
    "email": {"id": "Email", "en": "Email"},
    "phone": {"id": "Nomor telepon (SMS)", "en": "Phone number (SMS)"},
    "phone_hint": {"id": "Contoh: 0812 3456 7890", "en": "For example: +62 812 3456 7890"},
    "category": {"id": "Jenis masalah", "en": "Kind of problem"},
    "description": {"id": "Uraian masalah", "en": "What is the problem?"},
    "description_hint": {
        "id": "Apa yang terjadi, sejak kapan, di mana, dan pesan galat bila ada.",
        "en": "What happens, since when, where, and any error message.",
    },
    "attachments": {"id": "Lampiran (tidak wajib)", "en": "Attachments (optional)"},
    "attachments_hint": {
        "id": "Paling banyak {count} berkas, masing-masing paling besar {size}.",
        "en": "At most {count} files, each at most {size}.",
    },
    "honeypot": {"id": "Jangan isi kolom ini", "en": "Leave this field empty"},
    "send": {"id": "Kirim laporan", "en": "Send the report"},
    "errors_title": {"id": "Mohon periksa isian berikut", "en": "Please check these fields"},
    "err_required": {"id": "wajib diisi", "en": "is required"},
    "err_too_long": {"id": "terlalu panjang", "en": "is too long"},
    "err_bad_email": {"id": "bukan alamat email yang benar", "en": "is not a valid email address"},
    "err_bad_phone": {
        "id": "bukan nomor telepon yang benar",
        "en": "is not a valid phone number",
    },
    "err_contact_required": {
        "id": "isi email atau nomor telepon",
        "en": "give an email address or a phone number",
    },
    "err_too_many_files": {"id": "terlalu banyak berkas", "en": "too many files"},
    "err_file_too_large": {
        "id": "berkas {name} terlalu besar (batas {size})",
        "en": "file {name} is too large (limit {size})",
    },
    "too_large_title": {"id": "Kiriman terlalu besar", "en": "Upload too large"},
    "too_large_text": {
        "id": "Lampiran melebihi batas {size} per berkas ({count} berkas). Kembali dan "
        "kirim berkas yang lebih kecil.",
        "en": "The attachments exceed the limit of {size} a file ({count} files). Go back and "
        "send smaller files.",
    },
    "csrf_title": {"id": "Formulir kedaluwarsa", "en": "The form has expired"},
    "csrf_text": {
        "id": "Demi keamanan formulir ini tidak dapat diterima. Muat ulang halaman lalu "
        "kirim lagi.",
        "en": "For your security this form could not be accepted. Reload the page and send "
        "it again.",
    },
    "again": {"id": "Buka formulir lagi", "en": "Open the form again"},
    "sent_title": {"id": "Laporan diterima", "en": "Report received"},
    "sent_number": {"id": "Nomor tiket Anda", "en": "Your ticket number"},
    "sent_text": {
        "id": "Simpan nomor ini. Kami juga mengirimkannya ke kontak yang Anda berikan.",
        "en": "Keep this number. We also sent it to the contact you gave.",
    },
    "sent_follow": {"id": "Ikuti penanganannya", "en": "Follow its handling"},
    "sent_waiting": {
        "id": "Laporan Anda tersimpan dan sedang diproses. Halaman ini diperbarui sendiri; "
        "nomor tiket juga kami kirim ke kontak Anda.",
        "en": "Your report is stored and being processed. This page refreshes itself; we also "
        "send the ticket number to your contact.",
    },
    "sent_refresh": {"id": "Perbarui", "en": "Refresh"},
    "sent_failed": {
        "id": "Laporan Anda tersimpan; petugas kami akan memeriksanya dan menghubungi Anda.",
        "en": "Your report is stored; our staff will look at it and contact you.",
    },
    "status_title": {"id": "Cek status tiket", "en": "Check a ticket"},
    "status_intro": {
        "id": "Masukkan nomor tiket dari email atau SMS kami.",
        "en": "Enter the ticket number from our email or text message.",
    },
    "number": {"id": "Nomor tiket", "en": "Ticket number"},
    "number_hint": {"id": "Contoh: TKT-AB12-CD34", "en": "For example: TKT-AB12-CD34"},
    "look_up": {"id": "Lihat status", "en": "Show the status"},
    "not_found_title": {"id": "Tiket tidak ditemukan", "en": "No ticket found"},
    "not_found_text": {
        "id": "Tidak ada tiket dengan nomor itu. Periksa nomor pada email atau SMS kami.",
        "en": "There is no ticket with that number. Check the number in our email or text.",
    },
    "limited_title": {"id": "Terlalu banyak permintaan", "en": "Too many requests"},
    "limited_text": {
        "id": "Mohon tunggu {seconds} detik lalu coba lagi.",
        "en": "Please wait {seconds} seconds and try again.",
    },
    "ticket": {"id": "Tiket", "en": "Ticket"},
    "subject": {"id": "Perihal", "en": "Subject"},
    "status": {"id": "Status", "en": "Status"},
    "team": {"id": "Tim", "en": "Team"},
    "opened": {"id": "Dibuka", "en": "Opened"},
    "updated": {"id": "Terakhir diperbarui", "en": "Last update"},
    "resolved": {"id": "Terselesaikan", "en": "Resolved"},
    "closed": {"id": "Ditutup", "en": "Closed"},
    "history": {"id": "Riwayat", "en": "History"},
    "history_empty": {"id": "Belum ada pesan.", "en": "No messages yet."},
    "requester": {"id": "Pelapor", "en": "Requester"},
    "helpdesk": {"id": "Helpdesk", "en": "Helpdesk"},
    "from_requester": {"id": "pesan pelapor", "en": "requester's message"},
    "from_helpdesk": {"id": "jawaban helpdesk", "en": "helpdesk reply"},
    "files": {"id": "{count} lampiran", "en": "{count} attachment(s)"},
    "privacy": {
        "id": "Nama disingkat serta alamat email dan nomor telepon disamarkan.",
        "en": "Names are shortened; email addresses and phone numbers are masked.",
    },
    "survey_title": {"id": "Survei kepuasan", "en": "Satisfaction survey"},
    "survey_question": {
        "id": "Seberapa puas Anda dengan penanganan tiket {number}?",
        "en": "How satisfied are you with how we handled ticket {number}?",
    },
    "rating_1": {"id": "1 — sangat tidak puas", "en": "1 — very dissatisfied"},
    "rating_2": {"id": "2 — tidak puas", "en": "2 — dissatisfied"},
    "rating_3": {"id": "3 — cukup", "en": "3 — neutral"},
    "rating_4": {"id": "4 — puas", "en": "4 — satisfied"},
    "rating_5": {"id": "5 — sangat puas", "en": "5 — very satisfied"},
    "comment": {"id": "Komentar (tidak wajib)", "en": "Comment (optional)"},
    "survey_send": {"id": "Kirim penilaian", "en": "Send my rating"},
    "survey_choose": {"id": "Pilih nilai 1 sampai 5.", "en": "Choose a rating from 1 to 5."},
    "survey_thanks_title": {"id": "Terima kasih", "en": "Thank you"},
    "survey_thanks": {
        "id": "Penilaian Anda ({rating} dari 5) sudah kami terima.",
        "en": "We have received your rating ({rating} of 5).",
    },
    "survey_used": {
        "id": "Survei ini sudah diisi. Terima kasih.",
        "en": "This survey has already been answered. Thank you.",
    },
    "survey_expired": {
        "id": "Tautan survei ini sudah kedaluwarsa.",
        "en": "This survey link has expired.",
    },
    "survey_unknown": {
        "id": "Tautan survei ini tidak dikenal.",
        "en": "This survey link is not known.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    entry = TEXT[key]
    words = entry.get(language) or entry["en"]
    return words.format(**values) if values else words

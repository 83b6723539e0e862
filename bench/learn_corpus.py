"""Generated helpdesk history for the learning benchmarks: problems, paraphrases, typos, fixes.

Each problem belongs to one of the nine categories and has several ways a requester describes
it, in Indonesian and in English (with the slang, abbreviations and typos of real mail), and the
solution technicians gave. A generated ticket is one paraphrase with its slots filled, a greeting
and closing or not, and a few typos; its solution is the problem's, in the ticket's language.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    key: str
    category: str
    indonesian: tuple[str, ...]
    english: tuple[str, ...]
    fix_id: str
    fix_en: str


@dataclass(frozen=True)
class Generated:
    problem: str
    category: str
    language: str
    variant: int  # which of the problem's phrasings, in its language
    subject: str
    body: str
    solution: str

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


P = Problem
PROBLEMS: tuple[Problem, ...] = (
    # -- system / application --------------------------------------------------------------
    P(
        "app-login",
        "application",
        (
            "tidak bisa masuk ke {app}, muncul pesan username atau kata sandi salah padahal "
            "sudah benar",
            "gagal login {app} terus dari tadi, akun saya katanya tidak valid",
            "akun saya di {app} terkunci setelah salah masuk beberapa kali",
        ),
        (
            "cannot sign in to {app}, it says wrong username or password but it is correct",
            "my account on {app} is locked after several failed sign in attempts",
        ),
        "Akun Anda di {app} sudah kami buka kuncinya dan kata sandi direset; silakan masuk dengan "
        "kata sandi sementara yang kami kirim lewat SMS lalu ganti.",
        "We unlocked your {app} account and reset the password; sign in with the temporary "
        "password sent by SMS and change it.",
    ),
    P(
        "app-slow",
        "application",
        (
            "{app} sangat lambat, loading lama sekali sampai timeout saat simpan data",
            "aplikasi {app} hang setiap kali buka menu laporan",
            "{app} muter-muter terus waktu input data, tidak tersimpan",
        ),
        (
            "{app} is very slow and times out when saving data",
            "{app} freezes every time I open the reports menu",
        ),
        "Indeks basis data {app} sudah kami bangun ulang dan cache dibersihkan; menu laporan kini "
        "terbuka dalam beberapa detik.",
        "We rebuilt the {app} database indexes and cleared its cache; the reports menu now opens "
        "in a few seconds.",
    ),
    P(
        "app-error500",
        "application",
        (
            "muncul error 500 internal server error di {app} waktu upload dokumen",
            "saat unggah berkas di {app} keluar tulisan terjadi kesalahan sistem",
            "tombol kirim di {app} tidak berfungsi, pesan kesalahan merah muncul",
        ),
        (
            "{app} shows error 500 internal server error when uploading a document",
            "the submit button in {app} does nothing and a red error message appears",
        ),
        "Batas ukuran unggahan di {app} kami naikkan ke 20 MB; dokumen di atas itu mohon dikompres "
        "dulu ke PDF.",
        "We raised the upload size limit of {app} to 20 MB; compress larger documents to PDF "
        "first.",
    ),
    P(
        "app-mobile",
        "application",
        (
            "aplikasi {app} di hp android keluar sendiri (force close) saat dibuka",
            "apk {app} di handphone langsung tertutup setelah update",
            "aplikasi mobile {app} tidak mau terbuka sejak pembaruan kemarin",
        ),
        (
            "the {app} app on my android phone closes by itself when opened",
            "{app} mobile app crashes right after the latest update",
        ),
        "Hapus data dan cache aplikasi {app} di Pengaturan > Aplikasi, lalu pasang versi terbaru "
        "dari Play Store; versi lama tidak didukung lagi.",
        "Clear the {app} app's data and cache in Settings > Apps, then install the latest version "
        "from the Play Store; the old version is no longer supported.",
    ),
    P(
        "app-access",
        "application",
        (
            "mohon dibuatkan akun {app} untuk pegawai baru di {place}",
            "minta akses hak admin di {app} untuk operator baru",
            "pegawai baru belum punya user {app}, tolong didaftarkan",
        ),
        (
            "please create a {app} account for a new employee in {place}",
            "request admin access to {app} for our new operator",
        ),
        "Akun {app} untuk pegawai baru sudah dibuat dengan peran operator; detail masuk dikirim ke "
        "email dinas pegawai tersebut.",
        "The {app} account for the new employee is created with the operator role; the sign-in "
        "details went to their office email.",
    ),
    # -- network and wifi ----------------------------------------------------------------------
    P(
        "net-wifi-down",
        "network",
        (
            "wifi di {place} mati total, tidak ada sinyal sama sekali",
            "hotspot kantor di {place} hilang, laptop tidak menemukan jaringan",
            "sinyal wi-fi {place} tidak muncul sejak {since}",
        ),
        (
            "the wifi in {place} is down, no signal at all",
            "our office wireless network in {place} disappeared since {since}",
        ),
        "Access point di {place} mati karena adaptor daya rusak; adaptor sudah diganti dan sinyal "
        "wifi kembali normal.",
        "The access point in {place} was off because of a broken power adapter; we replaced it and "
        "the wifi is back.",
    ),
    P(
        "net-slow",
        "network",
        (
            "internet di {place} lemot sekali, buka email saja lama",
            "koneksi internet sangat lambat di {place} sejak {since}",
            "internetnya lelet banget, video meeting putus-putus",
        ),
        (
            "internet in {place} is extremely slow since {since}",
            "our connection is very slow, video meetings keep freezing",
        ),
        "Ada perangkat yang mengunduh pembaruan besar di {place}; bandwidth per perangkat kami "
        "batasi "
        "dan kecepatan sudah normal.",
        "A device in {place} was downloading large updates; we set a per-device bandwidth limit "
        "and "
        "the speed is normal again.",
    ),
    P(
        "net-lan",
        "network",
        (
            "kabel LAN di meja saya tidak konek, ikon jaringan tanda silang",
            "komputer di {place} tidak dapat IP, tulisan unidentified network",
            "port LAN di {place} mati, kabel sudah dicolok tapi tidak tersambung",
        ),
        (
            "the LAN cable at my desk does not connect, network icon shows a cross",
            "computers in {place} get no IP address, unidentified network",
        ),
        "Port switch untuk meja tersebut rusak; kabel sudah kami pindah ke port lain dan IP "
        "didapat otomatis lagi.",
        "The switch port for that desk was faulty; we moved the cable to another port and the "
        "address is assigned again.",
    ),
    P(
        "net-vpn",
        "network",
        (
            "VPN kantor putus terus setiap beberapa menit saat kerja dari rumah",
            "tidak bisa konek vpn dari rumah, gagal handshake",
            "koneksi vpn sering terputus saat akses aplikasi internal",
        ),
        (
            "the office VPN keeps disconnecting every few minutes when working from home",
            "cannot connect to the VPN from home, handshake failed",
        ),
        "MTU klien VPN kami turunkan ke 1400 dan profil baru dikirim ke email Anda; impor profil "
        "itu lalu sambungkan ulang.",
        "We lowered the VPN client MTU to 1400 and emailed you a new profile; import it and "
        "reconnect.",
    ),
    P(
        "net-wifi-password",
        "network",
        (
            "minta password wifi untuk tamu rapat di {place}",
            "kata sandi wifi tamu di {place} sudah diganti? tidak bisa masuk",
            "tamu tidak bisa login ke wifi guest di {place}",
        ),
        (
            "please give us the guest wifi password for a meeting in {place}",
            "guests cannot join the guest wifi in {place}",
        ),
        "Kata sandi wifi tamu diganti setiap Senin; kode minggu ini kami kirim ke nomor WhatsApp "
        "Anda dan berlaku sampai Minggu.",
        "The guest wifi password changes every Monday; this week's code was sent to your "
        "WhatsApp and is valid until Sunday.",
    ),
    # -- government email ----------------------------------------------------------------------
    P(
        "mail-forgot",
        "email",
        (
            "saya lupa kata sandi email dinas, tidak bisa buka kotak masuk",
            "password surel kantor saya lupa, mohon reset",
            "tidak bisa masuk webmail karena lupa sandi",
        ),
        (
            "I forgot my office email password and cannot open my inbox",
            "please reset my government mail password, I forgot it",
        ),
        "Kata sandi email dinas Anda sudah direset; tautan untuk membuat kata sandi baru dikirim "
        "ke "
        "nomor HP yang terdaftar.",
        "Your office email password was reset; a link to set a new one was sent to your "
        "registered phone number.",
    ),
    P(
        "mail-spam",
        "email",
        (
            "email dari instansi lain masuk ke folder spam terus",
            "surat dari kementerian selalu masuk junk, tidak terbaca",
            "pesan penting masuk ke spam bukan inbox",
        ),
        (
            "mail from other agencies keeps landing in the spam folder",
            "important messages go to junk instead of the inbox",
        ),
        "Domain pengirim sudah kami masukkan ke daftar aman di filter spam; pesan baru akan masuk "
        "ke kotak masuk.",
        "We added the sender's domain to the safe list of the spam filter; new messages will reach "
        "the inbox.",
    ),
    P(
        "mail-full",
        "email",
        (
            "kotak masuk email saya penuh, tidak bisa terima pesan baru",
            "mailbox penuh, ada peringatan kuota habis",
            "email tidak bisa menerima surat karena kapasitas penuh",
        ),
        (
            "my mailbox is full and I cannot receive new mail",
            "I get a quota exceeded warning on my office email",
        ),
        "Kuota kotak surat Anda kami naikkan ke 10 GB; arsipkan lampiran lama agar tidak penuh "
        "lagi.",
        "We raised your mailbox quota to 10 GB; archive old attachments so it does not fill up "
        "again.",
    ),
    P(
        "mail-outlook",
        "email",
        (
            "outlook di laptop minta password terus dan tidak bisa kirim email",
            "email dinas di outlook tidak sinkron, pesan terkirim tertahan di outbox",
            "setting email dinas di hp tidak bisa, server keluar ditolak",
        ),
        (
            "Outlook keeps asking for my password and cannot send mail",
            "office email on my phone cannot send, outgoing server refused",
        ),
        "Pengaturan server keluar harus port 587 dengan STARTTLS dan autentikasi; kami sudah "
        "mengubahnya di perangkat Anda.",
        "The outgoing server must use port 587 with STARTTLS and authentication; we changed it "
        "on your device.",
    ),
    P(
        "mail-new",
        "email",
        (
            "mohon dibuatkan alamat email dinas untuk pegawai baru",
            "pengajuan akun email resmi go.id untuk staf baru di {place}",
            "staf baru butuh email instansi",
        ),
        (
            "please create an official email address for a new employee",
            "request a government email account for new staff in {place}",
        ),
        "Akun email dinas sudah dibuat dengan format nama.belakang@instansi; kata sandi awal "
        "diserahkan langsung ke pegawai.",
        "The official email account is created as firstname.lastname@agency; the initial password "
        "was handed to the employee.",
    ),
    # -- server / hosting / cloud ------------------------------------------------------------
    P(
        "srv-disk",
        "server",
        (
            "server {app} penuh, disk tinggal sedikit dan layanan berhenti",
            "penyimpanan server hampir habis, aplikasi tidak bisa menulis log",
            "kapasitas storage di server kantor 100 persen",
        ),
        (
            "the {app} server disk is full and the service stopped",
            "server storage is almost full, the application cannot write logs",
        ),
        "Log lama di server dirotasi dan dipindah ke arsip; ruang disk kini tersisa 60 persen dan "
        "layanan berjalan lagi.",
        "Old logs on the server were rotated and archived; the disk is 60 percent free and the "
        "service runs again.",
    ),
    P(
        "srv-down",
        "server",
        (
            "server {app} tidak bisa diakses sejak {since}, koneksi ditolak",
            "layanan di server mati, halaman tidak bisa dibuka sama sekali",
            "vps kantor tidak merespon ping",
        ),
        (
            "the {app} server is unreachable since {since}, connection refused",
            "our VPS does not answer ping any more",
        ),
        "Server berhenti karena pemadaman listrik di ruang server; sudah dinyalakan ulang dan UPS "
        "kami periksa.",
        "The server stopped because of a power cut in the server room; we restarted it and "
        "checked the UPS.",
    ),
    P(
        "srv-backup",
        "server",
        (
            "backup harian database {app} gagal sejak {since}",
            "cadangan data otomatis di server tidak jalan",
            "laporan backup menunjukkan status gagal",
        ),
        (
            "the daily backup of the {app} database has failed since {since}",
            "automatic server backups are not running",
        ),
        "Kredensial penyimpanan cadangan kedaluwarsa; sudah diperbarui dan backup manual berhasil "
        "dijalankan.",
        "The backup storage credentials had expired; we renewed them and ran a successful manual "
        "backup.",
    ),
    P(
        "srv-cloud",
        "server",
        (
            "tidak bisa akses layanan cloud kantor, upload ke drive gagal",
            "sinkronisasi cloud storage dinas error",
            "folder bersama di cloud tidak bisa dibuka",
        ),
        (
            "cannot reach the office cloud service, uploads to the drive fail",
            "the shared cloud folder will not open",
        ),
        "Sertifikat klien sinkronisasi cloud kami perbarui; keluar lalu masuk lagi di aplikasi "
        "sinkronisasi.",
        "We renewed the cloud sync client certificate; sign out and back in to the sync app.",
    ),
    P(
        "srv-hosting",
        "server",
        (
            "minta ruang hosting untuk aplikasi baru {app}",
            "pengajuan vm baru di server pemda untuk sistem {app}",
            "butuh server untuk deploy aplikasi dinas",
        ),
        (
            "request hosting space for the new {app} application",
            "we need a new virtual machine for {app}",
        ),
        "Mesin virtual 2 vCPU, 4 GB RAM sudah disiapkan; akses SSH dikirim ke pengembang yang "
        "terdaftar.",
        "A 2 vCPU, 4 GB RAM virtual machine is ready; SSH access was sent to the registered "
        "developer.",
    ),
    # -- domain / website name -------------------------------------------------------------
    P(
        "dom-expired",
        "domain",
        (
            "domain situs dinas kami kedaluwarsa dan tidak bisa dibuka",
            "nama domain go.id instansi sudah habis masa aktifnya",
            "situs tidak bisa diakses, katanya domain expired",
        ),
        (
            "our agency's domain expired and the site does not open",
            "the .go.id domain of our office has lapsed",
        ),
        "Perpanjangan domain sudah diajukan ke pengelola go.id dan aktif kembali; propagasi DNS "
        "hingga 24 jam.",
        "The domain renewal was filed with the .go.id registry and it is active again; DNS takes "
        "up to 24 hours.",
    ),
    P(
        "dom-ssl",
        "domain",
        (
            "browser menampilkan peringatan sertifikat tidak aman di situs dinas",
            "ssl situs instansi habis, muncul not secure",
            "https situs kami error sertifikat",
        ),
        (
            "browsers show an insecure certificate warning on our site",
            "our website's SSL certificate expired, it says not secure",
        ),
        "Sertifikat TLS diperbarui otomatis dengan Let's Encrypt dan pembaruan otomatis sudah "
        "diaktifkan.",
        "The TLS certificate was renewed with Let's Encrypt and automatic renewal is switched on.",
    ),
    P(
        "dom-subdomain",
        "domain",
        (
            "mohon dibuatkan subdomain untuk aplikasi {app}",
            "pengajuan subdomain baru di domain pemda",
            "minta nama situs baru untuk layanan {app}",
        ),
        (
            "please create a subdomain for the {app} application",
            "request a new subdomain under the government domain",
        ),
        "Subdomain sudah dibuat dan diarahkan ke server aplikasi; aktif dalam 1 jam setelah "
        "propagasi.",
        "The subdomain is created and points to the application server; it is live within an hour.",
    ),
    P(
        "dom-dns",
        "domain",
        (
            "perubahan dns situs belum berlaku, masih mengarah ke server lama",
            "nama situs dinas mengarah ke alamat ip yang salah",
            "record dns untuk situs kami harus diganti",
        ),
        (
            "our DNS change has not taken effect, it still points to the old server",
            "the website name resolves to the wrong IP address",
        ),
        "Record A kami ubah ke IP server baru dan TTL diturunkan; perubahan terlihat dalam 30 "
        "menit.",
        "We changed the A record to the new server IP and lowered the TTL; it shows within 30 "
        "minutes.",
    ),
    # -- cctv -------------------------------------------------------------------------------------
    P(
        "cctv-record",
        "cctv",
        (
            "kamera di {place} tidak merekam sejak {since}",
            "rekaman cctv {place} kosong, tidak ada video tersimpan",
            "nvr tidak menyimpan rekaman kamera",
        ),
        ("the camera in {place} has not recorded since {since}", "the NVR stores no recordings"),
        "Hardisk NVR penuh dan penimpaan otomatis mati; sudah kami aktifkan sehingga rekaman "
        "terlama ditimpa.",
        "The NVR disk was full with overwrite switched off; we switched it on so the oldest "
        "footage is replaced.",
    ),
    P(
        "cctv-offline",
        "cctv",
        (
            "gambar kamera di {place} hitam, tulisan no signal",
            "cctv {place} offline di aplikasi pemantau",
            "layar monitor kamera gelap semua",
        ),
        (
            "the camera feed in {place} is black with no signal",
            "the CCTV in {place} shows offline in the viewer",
        ),
        "Kabel PoE kamera terputus; kabel sudah diganti dan kamera tampil lagi di aplikasi "
        "pemantau.",
        "The camera's PoE cable was cut; we replaced it and the camera is back in the viewer.",
    ),
    P(
        "cctv-footage",
        "cctv",
        (
            "minta salinan rekaman kamera {place} tanggal kemarin untuk laporan kehilangan",
            "butuh video cctv untuk kejadian di {place}",
            "mohon ambil rekaman untuk pemeriksaan",
        ),
        (
            "we need a copy of the camera footage from {place} for a theft report",
            "please export the CCTV video of an incident in {place}",
        ),
        "Rekaman sudah kami ekspor dan dapat diambil di ruang TIK dengan membawa surat permintaan "
        "resmi.",
        "The footage is exported and can be collected at the IT room with an official request "
        "letter.",
    ),
    P(
        "cctv-blur",
        "cctv",
        (
            "gambar cctv di {place} buram dan tidak fokus",
            "video kamera pengawas berembun, tidak jelas",
            "hasil kamera malam hari gelap sekali",
        ),
        (
            "the CCTV picture in {place} is blurry and out of focus",
            "night images from the camera are far too dark",
        ),
        "Lensa kamera dibersihkan dan fokus diatur ulang; mode malam inframerah juga kami "
        "aktifkan.",
        "We cleaned the lens and refocused the camera; infrared night mode is on as well.",
    ),
    # -- cyber security -------------------------------------------------------------------------
    P(
        "sec-phishing",
        "security",
        (
            "saya menerima email mencurigakan yang minta klik tautan dan isi password",
            "ada pesan penipuan mengatasnamakan dinas meminta data login",
            "dapat link aneh minta verifikasi akun, sudah terlanjur klik",
        ),
        (
            "I got a suspicious email asking me to click a link and enter my password",
            "a fraudulent message in our office's name asks for login details",
        ),
        "Itu phishing: tautan sudah diblokir di filter dan kata sandi Anda kami reset sebagai "
        "pencegahan; jangan balas pesan tersebut.",
        "That is phishing: the link is blocked at the filter and we reset your password as a "
        "precaution; do not answer it.",
    ),
    P(
        "sec-malware",
        "security",
        (
            "komputer di {place} kena virus, file berubah ekstensi dan minta tebusan",
            "laptop terinfeksi malware, iklan muncul terus",
            "antivirus mendeteksi trojan di pc {place}",
        ),
        (
            "a computer in {place} has a virus, files are renamed and it asks for ransom",
            "antivirus found a trojan on a PC in {place}",
        ),
        "Komputer sudah diisolasi dari jaringan, dipasang ulang, dan data dipulihkan dari "
        "cadangan; ganti semua kata sandi Anda.",
        "The computer was isolated, reinstalled and restored from backup; change all your "
        "passwords.",
    ),
    P(
        "sec-defaced",
        "security",
        (
            "situs dinas diretas, halaman depan berisi iklan judi online",
            "website kami kena deface, muncul tulisan hacked",
            "ada halaman judi yang disisipkan di situs instansi",
        ),
        (
            "our agency website was hacked and shows gambling ads",
            "the website got defaced with a hacked by message",
        ),
        "Situs dipulihkan dari cadangan bersih, celah plugin ditambal dan kata sandi admin "
        "diganti; laporan insiden dikirim ke CSIRT.",
        "We restored the site from a clean backup, patched the plugin hole and changed the admin "
        "passwords; the incident went to the CSIRT.",
    ),
    P(
        "sec-account",
        "security",
        (
            "akun media sosial dinas diambil alih orang lain",
            "ada yang login ke akun saya dari luar negeri",
            "notifikasi masuk dari perangkat tidak dikenal di akun kantor",
        ),
        (
            "someone took over our office social media account",
            "there was a login to my account from abroad",
        ),
        "Sesi asing diputus, kata sandi diganti dan verifikasi dua langkah kami aktifkan pada "
        "akun tersebut.",
        "We ended the unknown sessions, changed the password and turned on two-step verification.",
    ),
    # -- public content / media ------------------------------------------------------------
    P(
        "cnt-publish",
        "content",
        (
            "mohon unggah berita kegiatan {place} ke situs resmi",
            "minta tolong posting artikel kegiatan di portal pemda",
            "publikasikan pengumuman lelang di halaman instansi",
        ),
        (
            "please publish the news of the {place} event on the official site",
            "please post the tender announcement on our agency page",
        ),
        "Berita sudah tayang di portal; untuk berikutnya kirim naskah dan foto lewat formulir "
        "publikasi paling lambat H-1.",
        "The news is live on the portal; next time send the text and photos through the "
        "publication form a day ahead.",
    ),
    P(
        "cnt-wrong",
        "content",
        (
            "ada informasi salah di halaman profil instansi, mohon dikoreksi",
            "data kontak di situs dinas sudah tidak berlaku",
            "nama kepala dinas di website masih yang lama",
        ),
        (
            "there is wrong information on our agency profile page, please correct it",
            "the contact details on our website are out of date",
        ),
        "Halaman profil sudah kami perbarui sesuai data terbaru yang Anda kirim.",
        "We updated the profile page with the latest details you sent.",
    ),
    P(
        "cnt-social",
        "content",
        (
            "tidak bisa posting di akun instagram resmi dinas",
            "unggahan di facebook pemda gagal terus",
            "jadwal posting konten media sosial tidak jalan",
        ),
        (
            "cannot post on the agency's official Instagram account",
            "scheduled social media posts are not going out",
        ),
        "Aplikasi penjadwal kehilangan izin akses akun; sudah kami hubungkan ulang dan posting "
        "terjadwal berjalan.",
        "The scheduler app lost its account permission; we reconnected it and scheduled posts "
        "run again.",
    ),
    P(
        "cnt-takedown",
        "content",
        (
            "minta hapus dokumen berisi data pribadi warga yang terpasang di situs",
            "ada file berisi nik warga di website, mohon diturunkan",
            "tolong hapus halaman lama yang masih tampil",
        ),
        (
            "please remove a document with citizens' personal data from the site",
            "an old page is still visible, please take it down",
        ),
        "Dokumen sudah diturunkan dan cache mesin pencari diminta dihapus.",
        "The document was taken down and we asked search engines to drop their cached copy.",
    ),
    # -- others ------------------------------------------------------------------------------------
    P(
        "oth-printer",
        "others",
        (
            "printer di {place} tidak bisa mencetak, kertas macet terus",
            "printer tidak terdeteksi di komputer saya",
            "hasil cetak printer bergaris dan pudar",
        ),
        (
            "the printer in {place} will not print, paper keeps jamming",
            "my computer does not detect the printer",
        ),
        "Roller printer dibersihkan dan driver dipasang ulang; cetakan uji sudah normal.",
        "We cleaned the printer rollers and reinstalled the driver; a test print came out fine.",
    ),
    P(
        "oth-pc",
        "others",
        (
            "komputer di {place} tidak mau menyala, lampu power mati",
            "pc saya mati sendiri dan tidak bisa hidup lagi",
            "laptop kantor tidak bisa dicas",
        ),
        ("the computer in {place} will not turn on", "my office laptop does not charge"),
        "Catu daya komputer rusak dan sudah diganti; komputer menyala normal.",
        "The computer's power supply was broken and we replaced it; it starts normally.",
    ),
    P(
        "oth-projector",
        "others",
        (
            "proyektor di {place} tidak menampilkan gambar dari laptop",
            "layar presentasi di ruang rapat tidak muncul",
            "mohon bantuan sound system dan proyektor untuk rapat besok",
        ),
        (
            "the projector in {place} shows nothing from the laptop",
            "please set up the projector and sound for tomorrow's meeting",
        ),
        "Kabel HDMI diganti dan mode tampilan laptop diatur ke duplikat (Win+P); proyektor "
        "berfungsi.",
        "We replaced the HDMI cable and set the laptop display to duplicate (Win+P); the "
        "projector works.",
    ),
    P(
        "oth-software",
        "others",
        (
            "minta instal microsoft office di komputer baru",
            "mohon pasang aplikasi pdf editor di laptop saya",
            "lisensi office di pc sudah habis",
        ),
        (
            "please install Microsoft Office on the new computer",
            "my office licence on the PC expired",
        ),
        "Office sudah dipasang dan diaktifkan dengan lisensi instansi.",
        "Office is installed and activated with the agency licence.",
    ),
)

APPS = ("SIMPEG", "e-Kinerja", "SIPD", "e-Office", "SRIKANDI", "SIMDA", "e-Budgeting", "LAPOR")
PLACES = (
    "ruang rapat lantai 2",
    "bagian keuangan",
    "sekretariat",
    "bidang perencanaan",
    "kantor kecamatan",
    "aula utama",
    "gedung B",
    "ruang kepala dinas",
    "loket pelayanan",
)
PLACES_EN = (
    "meeting room 2",
    "the finance office",
    "the secretariat",
    "planning division",
    "the district office",
    "the main hall",
    "building B",
    "the head's office",
    "the front desk",
)
SINCE_ID = ("tadi pagi", "kemarin sore", "Senin", "dua hari lalu", "jam 9")
SINCE_EN = ("this morning", "yesterday", "Monday", "two days ago", "9 am")
GREET_ID = ("", "Selamat pagi,", "Yth. Admin TIK,", "Halo tim IT,", "Permisi,", "Assalamualaikum,")
GREET_EN = ("", "Hello,", "Dear IT team,", "Hi,", "Good morning,")
CLOSE_ID = ("", "Terima kasih.", "Mohon bantuannya.", "Mohon segera ditindaklanjuti.", "Tks")
CLOSE_EN = ("", "Thanks.", "Please help.", "Thank you in advance.", "Regards")
VAGUE_ID = ("Mohon bantuan", "Laporan gangguan", "Penting", "Keluhan", "Permohonan")
VAGUE_EN = ("Help needed", "Problem report", "Urgent", "Request", "Issue")
SLANG = {
    "tidak": ("tdk", "gak", "ga", "tidak"),
    "sudah": ("sdh", "udah"),
    "yang": ("yg",),
    "bisa": ("bs", "bisa"),
    "untuk": ("utk",),
    "dengan": ("dgn",),
}


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # dropped letter
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped letters
    if kind == 2:
        return word[:i] + word[i] + word[i:]  # doubled letter
    return word[:i] + rng.choice("aeiounrst") + word[i + 1 :]  # wrong letter


def roughen(text: str, rng: random.Random, language: str, rate: float) -> str:
    words = []
    for word in text.split(" "):
        if language == "id" and word in SLANG and rng.random() < 0.3:
            word = rng.choice(SLANG[word])
        elif rng.random() < rate:
            word = typo(word, rng)
        words.append(word)
    return " ".join(words)


def ticket(problem: Problem, rng: random.Random, *, typo_rate: float = 0.06) -> Generated:
    language = "id" if rng.random() < 0.6 else "en"
    app = rng.choice(APPS)
    if language == "id":
        variant = rng.randrange(len(problem.indonesian))
        pattern, place, since = (
            problem.indonesian[variant],
            rng.choice(PLACES),
            rng.choice(SINCE_ID),
        )
        greet, close, fix = rng.choice(GREET_ID), rng.choice(CLOSE_ID), problem.fix_id
    else:
        variant = rng.randrange(len(problem.english))
        pattern, place, since = (
            problem.english[variant],
            rng.choice(PLACES_EN),
            rng.choice(SINCE_EN),
        )
        greet, close, fix = rng.choice(GREET_EN), rng.choice(CLOSE_EN), problem.fix_en
    sentence = pattern.format(app=app, place=place, since=since)
    words = sentence.split()
    cut = rng.randint(3, min(7, len(words)))
    vague = VAGUE_ID if language == "id" else VAGUE_EN
    subject = " ".join(words[:cut]).capitalize() if rng.random() < 0.7 else rng.choice(vague)
    body = "\n".join(p for p in (greet, sentence[0].upper() + sentence[1:] + ".", close) if p)
    return Generated(
        problem=problem.key,
        category=problem.category,
        language=language,
        variant=variant,
        subject=roughen(subject, rng, language, typo_rate),
        body=roughen(body, rng, language, typo_rate),
        solution=fix.format(app=app, place=place),
    )


def is_last_phrasing(item: Generated) -> bool:
    problem = next(p for p in PROBLEMS if p.key == item.problem)
    phrasings = problem.indonesian if item.language == "id" else problem.english
    return item.variant == len(phrasings) - 1


def corpus(count: int, seed: int = 8) -> list[Generated]:
    """`count` tickets spread evenly over the problems (so over all nine categories)."""
    rng = random.Random(seed)
    return [ticket(PROBLEMS[i % len(PROBLEMS)], rng) for i in range(count)]

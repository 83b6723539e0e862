"""What `tiket init` puts in an empty database: the study's nine categories and a default team."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.model.people import Category, Team

DEFAULT_TEAM = "support"


@dataclass(frozen=True)
class CategorySeed:
    slug: str
    name_id: str
    name_en: str
    description: str
    keywords: tuple[str, ...]


# Table 1 of the study, in its order; keywords in Indonesian and English.
CATEGORIES = (
    CategorySeed(
        "application",
        "Sistem / aplikasi",
        "System / application",
        "Technical issues such as errors, applications not responding, crashes, bugs and other "
        "technical issues related to the application.",
        (
            "aplikasi",
            "error",
            "crash",
            "bug",
            "tidak merespon",
            "tidak bisa login",
            "hang",
            "not responding",
            "application",
            "sistem informasi",
            "gagal login",
            "force close",
        ),
    ),
    CategorySeed(
        "network",
        "Jaringan komputer dan Wi-Fi",
        "Computer network and Wi-Fi",
        "Connectivity issues such as unable to connect to a Wi-Fi network, local area network "
        "(LAN) interference, slow or disconnected internet connection, and network device "
        "configuration.",
        (
            "wifi",
            "wi-fi",
            "jaringan",
            "internet lambat",
            "internet mati",
            "lan",
            "koneksi",
            "router",
            "access point",
            "network",
            "internet",
            "putus",
            "lemot",
            "switch",
        ),
    ),
    CategorySeed(
        "email",
        "Email instansi pemerintah",
        "Government institution email",
        "Issues related to official email access, such as forgetting passwords, not being able "
        "to send or receive emails, emails going to the spam folder, or incorrect email "
        "configuration.",
        (
            "email dinas",
            "lupa password",
            "lupa kata sandi",
            "spam",
            "kotak masuk",
            "mailbox",
            "email",
            "surel",
            "password",
            "webmail",
            "outlook",
            "inbox",
        ),
    ),
    CategorySeed(
        "server",
        "Server / hosting / cloud",
        "Server / hosting / cloud",
        "Problems related to local servers, website hosting, cloud services, or other "
        "server/hosting/cloud issues such as full storage capacity, or cloud service access "
        "failure.",
        (
            "server",
            "hosting",
            "cloud",
            "penyimpanan penuh",
            "storage",
            "disk penuh",
            "vps",
            "database",
            "backup",
            "down",
        ),
    ),
    CategorySeed(
        "domain",
        "Nama domain / nama situs web instansi",
        "Domain name / institution website name",
        "Issues related to the management of domains or official local government website "
        "names, such as expired domains, changes in domain names/DNS, or inactive domains.",
        (
            "domain",
            "dns",
            "kedaluwarsa",
            "kadaluarsa",
            "subdomain",
            "go.id",
            "expired",
            "nama situs",
            "ssl",
            "sertifikat",
        ),
    ),
    CategorySeed(
        "cctv",
        "CCTV",
        "CCTV",
        "Technical issues related to CCTV devices, such as cameras not recording, loss of access "
        "to recordings, quality of recorded video, and access to CCTV recordings.",
        ("cctv", "kamera", "rekaman", "camera", "recording", "nvr", "dvr"),
    ),
    CategorySeed(
        "security",
        "Keamanan siber",
        "Cyber security",
        "Issues related to cyber threats such as malware, phishing, data leaks, or unauthorized "
        "access to local government systems.",
        (
            "malware",
            "phishing",
            "peretasan",
            "diretas",
            "kebocoran data",
            "virus",
            "ransomware",
            "hack",
            "hacked",
            "judi online",
            "defacement",
            "data leak",
            "akses ilegal",
        ),
    ),
    CategorySeed(
        "content",
        "Konten / media publik",
        "Public content / media",
        "Issues related to the management and publication of content/information on official "
        "government media, such as websites, applications, or social media.",
        (
            "konten",
            "website",
            "media sosial",
            "berita",
            "publikasi",
            "instagram",
            "facebook",
            "unggah",
            "artikel",
            "content",
            "social media",
            "post",
        ),
    ),
    CategorySeed(
        "others",
        "Lainnya",
        "Others",
        "Other issues outside the above categories.",
        (),
    ),
)

FALLBACK_CATEGORY = "others"

# The study's descriptions in Indonesian, for pages shown in Indonesian.
DESCRIPTIONS_ID = {
    "application": "Masalah teknis seperti error, aplikasi tidak merespons, crash, bug dan masalah "
    "teknis lain yang berkaitan dengan aplikasi.",
    "network": "Masalah konektivitas seperti tidak dapat terhubung ke jaringan Wi-Fi, gangguan "
    "jaringan lokal (LAN), koneksi internet lambat atau terputus, dan konfigurasi perangkat "
    "jaringan.",
    "email": "Masalah akses email dinas, seperti lupa kata sandi, tidak dapat mengirim atau "
    "menerima email, email masuk ke folder spam, atau konfigurasi email yang salah.",
    "server": "Masalah server lokal, hosting situs web, layanan cloud, atau masalah "
    "server/hosting/cloud lain seperti kapasitas penyimpanan penuh atau gagal mengakses "
    "layanan cloud.",
    "domain": "Masalah pengelolaan domain atau nama situs web resmi pemerintah daerah, seperti "
    "domain kedaluwarsa, perubahan nama domain/DNS, atau domain tidak aktif.",
    "cctv": "Masalah teknis perangkat CCTV, seperti kamera tidak merekam, hilangnya akses ke "
    "rekaman, kualitas video rekaman, dan akses ke rekaman CCTV.",
    "security": "Masalah ancaman siber seperti malware, phishing, kebocoran data, atau akses "
    "tanpa izin ke sistem pemerintah daerah.",
    "content": "Masalah pengelolaan dan publikasi konten/informasi di media resmi pemerintah, "
    "seperti situs web, aplikasi, atau media sosial.",
    "others": "Masalah lain di luar kategori di atas.",
}


def describe(slug: str, description: str, language: str) -> str:
    """A category's description in `language`: the study's Indonesian text for a seeded one,
    or what the admin wrote."""
    seeded = next((c.description for c in CATEGORIES if c.slug == slug), None)
    if language == "id" and description == seeded and slug in DESCRIPTIONS_ID:
        return DESCRIPTIONS_ID[slug]
    return description


def seed(session: Session, *, team_mailbox: str) -> list[str]:
    """Create what is missing; never change what an admin edited. Returns what was created."""
    created: list[str] = []
    team = session.scalar(select(Team).where(Team.name == DEFAULT_TEAM))
    if team is None:
        team = Team(name=DEFAULT_TEAM, title="IT Support", mailbox=team_mailbox, managers=[])
        session.add(team)
        session.flush()
        created.append(f"team {DEFAULT_TEAM}")
    existing = set(session.scalars(select(Category.slug)))
    for position, item in enumerate(CATEGORIES):
        if item.slug in existing:
            continue
        session.add(
            Category(
                slug=item.slug,
                name_id=item.name_id,
                name_en=item.name_en,
                description=item.description,
                keywords=list(item.keywords),
                position=position,
                team_id=team.id,
            )
        )
        created.append(f"category {item.slug}")
    session.flush()
    # The categories' keywords are routing rules like any other, edited with `tiket rules`.
    from tiket.rules.book import seed_category_rules

    created += seed_category_rules(session)
    return created

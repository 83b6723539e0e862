"""tiket: an IT helpdesk reached by email, SMS and WhatsApp."""

__version__ = "0.1.0"

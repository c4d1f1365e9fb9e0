//! E-mail goes over SMTP to a real server (aiosmtpd) and is read back with a MIME parser.

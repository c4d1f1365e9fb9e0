//! Checks of single values: ids, e-mail addresses, URLs, phone numbers, dates, weekdays.
//!
//! Each check returns `Err` with a short reason, phrased to follow "`value` is not ...: ".

use chrono::{NaiveDate, Weekday};

/// An identifier as `.proc` files write it: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A field name: `[a-z_][a-z0-9_]*`.
pub(crate) fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_name(s: &str) -> bool {
    is_identifier(s)
}

/// A name that `.proc` files quote: not empty, no control characters, no surrounding spaces.
pub(crate) fn check_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        Err("it is empty")
    } else if s.chars().any(char::is_control) {
        Err("it holds a control character")
    } else if s.trim() != s {
        Err("it starts or ends with a space")
    } else {
        Ok(())
    }
}

/// A user id: a name without any whitespace, like `k.schmidt`.
pub(crate) fn check_user_id(s: &str) -> Result<(), &'static str> {
    check_name(s)?;
    if s.chars().any(char::is_whitespace) {
        Err("it holds a space")
    } else {
        Ok(())
    }
}

/// A domain name: dot-separated labels of letters, digits and `-`, at least two labels.
fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("the domain is empty");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain has no dot");
    }
    for label in labels {
        if label.is_empty() {
            return Err("the domain has an empty part");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part of the domain starts or ends with `-`");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("the domain holds a character other than letters, digits, `-` and `.`");
        }
    }
    Ok(())
}

/// An e-mail address: `local@domain.tld`.
pub(crate) fn check_email(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds a space");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err("it has no `@`");
    };
    if domain.contains('@') {
        return Err("it has more than one `@`");
    }
    if local.is_empty() {
        return Err("nothing comes before the `@`");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before the `@` has a misplaced `.`");
    }
    if local.chars().any(|c| {
        matches!(
            c,
            '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '\\' | '"'
        )
    }) {
        return Err("the part before the `@` holds a character that addresses cannot have");
    }
    check_domain(domain)
}

/// An absolute `http` or `https` URL with a host.
pub(crate) fn check_url(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds a space");
    }
    let lower = s.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else if s.contains("://") {
        return Err("only `http` and `https` URLs can be called");
    } else {
        return Err("it does not start with `https://` or `http://`");
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = match authority.rsplit_once('@') {
        Some(_) => return Err("it holds credentials; keep secrets out of the project file"),
        None => authority,
    };
    if host_port.is_empty() {
        return Err("it has no host");
    }
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, tail)) => {
                if addr.is_empty()
                    || !addr
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                {
                    return Err("the IPv6 host is malformed");
                }
                match tail {
                    "" => (addr, None),
                    t => match t.strip_prefix(':') {
                        Some(p) => (addr, Some(p)),
                        None => return Err("the host is malformed"),
                    },
                }
            }
            None => return Err("the IPv6 host has no closing `]`"),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => {
                if h.is_empty() {
                    return Err("it has no host");
                }
                if !h
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
                {
                    return Err(
                        "the host holds a character other than letters, digits, `-` and `.`",
                    );
                }
                (h, Some(p))
            }
            None => {
                if !host_port
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
                {
                    return Err(
                        "the host holds a character other than letters, digits, `-` and `.`",
                    );
                }
                (host_port, None)
            }
        }
    };
    if host.starts_with('.') || host.ends_with('.') || host.contains("..") {
        return Err("the host has an empty part");
    }
    if let Some(port) = port {
        match port.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) && port.chars().all(|c| c.is_ascii_digit()) => {}
            _ => return Err("the port is not a number from 1 to 65535"),
        }
    }
    Ok(())
}

/// A phone number: an optional `+`, then digits with spaces, `-`, `/`, `(` and `)`; 5 to 20
/// digits.
pub(crate) fn check_phone(s: &str) -> Result<(), &'static str> {
    let body = s.strip_prefix('+').unwrap_or(s);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '/' | '(' | ')'))
    {
        return Err("it holds a character other than digits, spaces, `+`, `-`, `/`, `(` and `)`");
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits) {
        return Err("it does not have 5 to 20 digits");
    }
    Ok(())
}

/// A date written `YYYY-MM-DD`.
pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, &'static str> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err("it is not written `YYYY-MM-DD`");
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => ymd(i64::from(y), i64::from(m), i64::from(d)),
        _ => Err("it is not written `YYYY-MM-DD`"),
    }
}

/// A calendar date from its parts.
pub(crate) fn ymd(y: i64, m: i64, d: i64) -> Result<NaiveDate, &'static str> {
    let (Ok(y), Ok(m), Ok(d)) = (i32::try_from(y), u32::try_from(m), u32::try_from(d)) else {
        return Err("no such date");
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or("no such date")
}

/// The weekday names `procc.toml` accepts, in week order.
pub(crate) const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

/// A weekday: its English name or the name's first three letters, in any case.
pub(crate) fn parse_weekday(s: &str) -> Option<Weekday> {
    let lower = s.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .find(|(name, _)| *name == lower || (lower.len() == 3 && name.starts_with(lower.as_str())))
        .map(|&(_, day)| day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("sprengnetter"));
        assert!(is_identifier("_x1"));
        assert!(!is_identifier("1x"));
        assert!(!is_identifier("price-hubble"));
        assert!(!is_identifier(""));
        assert!(is_field_name("purchase_price"));
        assert!(!is_field_name("PurchasePrice"));
    }

    #[test]
    fn names() {
        assert!(check_name("valuation-update").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(" x").is_err());
        assert!(check_name("a\tb").is_err());
        assert!(check_user_id("k.schmidt").is_ok());
        assert!(check_user_id("k schmidt").is_err());
    }

    #[test]
    fn emails() {
        assert!(check_email("k.schmidt@muster-immobilien.de").is_ok());
        assert!(check_email("info@münchen.de").is_ok());
        for bad in [
            "",
            "a",
            "a@",
            "@b.de",
            "a@b",
            "a@@b.de",
            "a b@c.de",
            "a@b..de",
            "a@-b.de",
            ".a@b.de",
            "a@b.de@c.de",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in [
            "https://api.sprengnetter.de/hook",
            "http://localhost:8080/x?y=1#z",
            "https://[::1]:443/",
            "HTTPS://Example.com",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://user:pw@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://example.com:",
            "https://ex_ample.com",
            "https://[::1",
            "https://example..com",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(check_phone("+49 171 2345678").is_ok());
        assert!(check_phone("0211/123-456").is_ok());
        assert!(check_phone("12").is_err());
        assert!(check_phone("+49 abc").is_err());
        assert!(check_phone("").is_err());
    }

    #[test]
    fn dates_and_weekdays() {
        assert_eq!(
            parse_date("2026-12-24"),
            NaiveDate::from_ymd_opt(2026, 12, 24).ok_or("")
        );
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
        assert!(parse_date("24.12.2026").is_err());
        assert!(parse_date("２０２６-12-24").is_err());
        assert_eq!(parse_weekday("Saturday"), Some(Weekday::Sat));
        assert_eq!(parse_weekday("sun"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("sonntag"), None);
        assert_eq!(parse_weekday("s"), None);
    }
}

//! Validated names ("parse, don't validate").

use crate::{Error, Result};

/// A DNS-label-compliant name, as Wallaroo requires for workspaces, pipelines and models:
/// lowercase ASCII letters, digits and `-`, starting and ending with a letter or digit, at most 63 chars.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsName(String);

impl DnsName {
    /// `what` names the kind of thing in the error message ("pipeline name").
    pub fn parse(what: &str, raw: &str) -> Result<Self> {
        let why = dns_problem(raw);
        match why {
            None => Ok(Self(raw.to_string())),
            Some(why) => Err(Error::invalid(format!(
                "invalid {what} '{raw}': {why}; names must match [a-z0-9]([-a-z0-9]*[a-z0-9])?"
            ))),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

fn dns_problem(raw: &str) -> Option<&'static str> {
    if raw.is_empty() {
        return Some("it is empty");
    }
    if raw.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    if raw.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("it contains uppercase letters");
    }
    if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Some("only lowercase letters, digits and '-' are allowed");
    }
    if raw.starts_with('-') || raw.ends_with('-') {
        return Some("it must start and end with a letter or digit");
    }
    None
}

/// A workspace name. Wallaroo creates `"<email> - Default Workspace"` for every user, so workspace
/// names are free text (1..=255 chars, no control characters), unlike pipelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid("workspace_name must not be empty"));
        }
        if trimmed.len() > 255 {
            return Err(Error::invalid("workspace_name must be at most 255 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Error::invalid("workspace_name must not contain control characters"));
        }
        Ok(Self(trimmed.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address (a light syntactic check: one `@`, non-empty parts, no spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        let ok = matches!(raw.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'))
            && !raw.contains(char::is_whitespace);
        if ok {
            Ok(Self(raw.to_lowercase()))
        } else {
            Err(Error::invalid(format!("'{raw}' is not a valid email address")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_accept_lowercase_digits_and_dashes() {
        for ok in ["a", "ccfraud", "house-price-2", "0abc9"] {
            assert!(DnsName::parse("pipeline name", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn dns_names_reject_with_a_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("Upper", "uppercase"),
            ("a_b", "only lowercase"),
            ("a.b", "only lowercase"),
            ("-a", "start and end"),
            ("a-", "start and end"),
        ] {
            let err = DnsName::parse("pipeline name", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(DnsName::parse("x", &"a".repeat(64)).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse("Ann@Example.com").unwrap().as_str(), "ann@example.com");
        for bad in ["", "no-at", "@x", "x@", "a b@c", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn workspace_names_allow_default_workspace_form() {
        assert!(WorkspaceName::parse("a@b.c - Default Workspace").is_ok());
        assert!(WorkspaceName::parse("  ").is_err());
    }
}

//! WhatsApp JIDs: parsing, formatting, E.164, and Brazilian 9th-digit variants.
//!
//! ```
//! use zapwoot_gateway::{Jid, Server};
//!
//! let jid = Jid::parse("5511987654321:12@s.whatsapp.net")?;
//! assert_eq!(jid.server(), Server::User);
//! assert_eq!(jid.device(), Some(12));
//! assert_eq!(jid.to_non_device().to_string(), "5511987654321@s.whatsapp.net");
//! assert_eq!(jid.to_e164().as_deref(), Some("+5511987654321"));
//! assert_eq!(jid.brazil_variant().map(|j| j.to_string()).as_deref(), Some("551187654321@s.whatsapp.net"));
//! assert_eq!(Jid::from_phone("+55 (11) 98765-4321")?.to_string(), "5511987654321@s.whatsapp.net");
//! assert!(Jid::parse("123456789@lid")?.is_lid());
//! # Ok::<(), zapwoot_gateway::JidError>(())
//! ```

use std::fmt;

/// The server part of a JID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Server {
    /// `s.whatsapp.net`: a person by phone number.
    User,
    /// `lid`: a person by privacy id (its digits are **not** a phone number).
    Lid,
    /// `g.us`: a group.
    Group,
    /// `broadcast`: status or a broadcast list.
    Broadcast,
    /// `newsletter`: a channel.
    Newsletter,
    /// Anything else, kept.
    Other(String),
}

impl Server {
    fn parse(text: &str) -> Self {
        match text {
            "s.whatsapp.net" | "c.us" => Self::User,
            "lid" => Self::Lid,
            "g.us" => Self::Group,
            "broadcast" => Self::Broadcast,
            "newsletter" => Self::Newsletter,
            other => Self::Other(other.to_owned()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Self::User => "s.whatsapp.net",
            Self::Lid => "lid",
            Self::Group => "g.us",
            Self::Broadcast => "broadcast",
            Self::Newsletter => "newsletter",
            Self::Other(s) => s,
        }
    }
}

/// Why a text is not a JID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JidError {
    /// Empty input.
    #[error("empty JID")]
    Empty,
    /// No user part, or characters a JID cannot hold.
    #[error("malformed JID")]
    Malformed,
    /// A phone number must have 7 to 15 digits and not start with 0.
    #[error("not a phone number in international form")]
    NotAPhone,
}

/// A WhatsApp JID: `user[:device]@server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jid {
    user: String,
    device: Option<u16>,
    server: Server,
}

impl Jid {
    /// Parses `user@server` or `user:device@server`. A bare number becomes a user JID.
    ///
    /// # Errors
    /// [`JidError`] for empty or malformed input.
    pub fn parse(text: &str) -> Result<Self, JidError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(JidError::Empty);
        }
        let Some((left, server)) = text.rsplit_once('@') else {
            return Self::from_phone(text);
        };
        let (user, device) = match left.split_once(':') {
            Some((user, device)) => (
                user,
                Some(device.parse::<u16>().map_err(|_| JidError::Malformed)?),
            ),
            None => (left, None),
        };
        // Agent suffixes (`user.0:1@…`) are kept in the user part; whitespace and @ are not allowed.
        if user.is_empty()
            || server.is_empty()
            || user.chars().any(|c| c.is_whitespace() || c == '@')
        {
            return Err(JidError::Malformed);
        }
        Ok(Self {
            user: user.to_owned(),
            device,
            server: Server::parse(server),
        })
    }

    /// A user JID from a phone number in any common notation (`+55 (11) 98765-4321`).
    ///
    /// # Errors
    /// [`JidError::NotAPhone`] unless it has 7–15 digits not starting with 0.
    pub fn from_phone(text: &str) -> Result<Self, JidError> {
        if text.chars().any(|c| c.is_alphabetic() || c == '@') {
            return Err(JidError::NotAPhone);
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(JidError::NotAPhone);
        }
        Ok(Self {
            user: digits,
            device: None,
            server: Server::User,
        })
    }

    /// The user part (digits for phones and LIDs).
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The device number of an AD-JID (`:12`).
    #[must_use]
    pub fn device(&self) -> Option<u16> {
        self.device
    }

    /// The server.
    #[must_use]
    pub fn server(&self) -> Server {
        self.server.clone()
    }

    /// The same JID without a device suffix.
    #[must_use]
    pub fn to_non_device(&self) -> Self {
        Self {
            device: None,
            ..self.clone()
        }
    }

    /// `@s.whatsapp.net`.
    #[must_use]
    pub fn is_user(&self) -> bool {
        self.server == Server::User
    }

    /// `@lid`.
    #[must_use]
    pub fn is_lid(&self) -> bool {
        self.server == Server::Lid
    }

    /// `@g.us`.
    #[must_use]
    pub fn is_group(&self) -> bool {
        self.server == Server::Group
    }

    /// `@broadcast` (status updates, broadcast lists).
    #[must_use]
    pub fn is_broadcast(&self) -> bool {
        self.server == Server::Broadcast
    }

    /// `@newsletter`.
    #[must_use]
    pub fn is_newsletter(&self) -> bool {
        self.server == Server::Newsletter
    }

    /// `+<digits>` for phone JIDs; `None` for LIDs, groups and the rest.
    #[must_use]
    pub fn to_e164(&self) -> Option<String> {
        (self.is_user() && self.user.chars().all(|c| c.is_ascii_digit()))
            .then(|| format!("+{}", self.user))
    }

    /// The other Brazilian form of a mobile number: with the 9th digit removed
    /// (`55 11 9xxxx-xxxx` → `55 11 xxxx-xxxx`) or added (`55 11 [6-9]xxx-xxxx` → with `9`).
    /// WhatsApp still addresses many older Brazilian accounts without it.
    #[must_use]
    pub fn brazil_variant(&self) -> Option<Self> {
        if !self.is_user()
            || !self.user.starts_with("55")
            || !self.user.chars().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let (country_area, local) = self.user.split_at_checked(4)?;
        let user = match local.len() {
            9 if local.starts_with('9') => format!("{country_area}{}", local.get(1..)?),
            8 if local.starts_with(['6', '7', '8', '9']) => format!("{country_area}9{local}"),
            _ => return None,
        };
        Some(Self {
            user,
            device: None,
            server: Server::User,
        })
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.device {
            Some(device) => write!(f, "{}:{device}@{}", self.user, self.server.as_str()),
            None => write!(f, "{}@{}", self.user, self.server.as_str()),
        }
    }
}

impl std::str::FromStr for Jid {
    type Err = JidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_server() {
        for (text, server) in [
            ("5511987654321@s.whatsapp.net", Server::User),
            ("5511987654321@c.us", Server::User),
            ("123456789012345@lid", Server::Lid),
            ("120363025246125486@g.us", Server::Group),
            ("5511987654321-1600000000@g.us", Server::Group),
            ("status@broadcast", Server::Broadcast),
            ("120363144038483540@newsletter", Server::Newsletter),
            ("x@bot", Server::Other("bot".into())),
        ] {
            assert_eq!(Jid::parse(text).unwrap().server(), server, "{text}");
        }
        assert_eq!(
            Jid::parse("5511987654321@c.us").unwrap().to_string(),
            "5511987654321@s.whatsapp.net"
        );
        assert_eq!(
            Jid::parse("5511:7@s.whatsapp.net").unwrap().to_string(),
            "5511:7@s.whatsapp.net"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            " ",
            "@s.whatsapp.net",
            "abc@",
            "a b@s.whatsapp.net",
            "1:x@s.whatsapp.net",
            "hello",
            "+0 11 2345678",
            "123",
        ] {
            assert!(Jid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn e164_only_for_phones() {
        assert_eq!(
            Jid::parse("5511987654321@s.whatsapp.net")
                .unwrap()
                .to_e164()
                .as_deref(),
            Some("+5511987654321")
        );
        assert_eq!(
            Jid::parse("123456789@lid").unwrap().to_e164(),
            None,
            "LID digits are not a phone"
        );
        assert_eq!(Jid::parse("120363@g.us").unwrap().to_e164(), None);
    }

    #[test]
    fn brazil_variants() {
        let with = Jid::parse("5511987654321@s.whatsapp.net").unwrap();
        let without = with.brazil_variant().unwrap();
        assert_eq!(without.user(), "551187654321");
        assert_eq!(without.brazil_variant().unwrap(), with);
        // Landlines (starting 2-5) and other countries have no variant.
        assert!(
            Jid::parse("551133334444@s.whatsapp.net")
                .unwrap()
                .brazil_variant()
                .is_none()
        );
        assert!(
            Jid::parse("14155550123@s.whatsapp.net")
                .unwrap()
                .brazil_variant()
                .is_none()
        );
        assert!(
            Jid::parse("5511987654321@lid")
                .unwrap()
                .brazil_variant()
                .is_none()
        );
    }
}

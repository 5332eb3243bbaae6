//! Receivers are untrusted: refuse targets inside the bridge's own network (SSRF).
//!
//! The check runs where the address is known: on literal IP hosts before sending, and on
//! every address a name resolves to, inside the HTTP client's resolver — so the connection
//! uses only vetted addresses and a name cannot be re-pointed between check and connect
//! (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether the bridge may deliver to `ip`. Link-local (cloud metadata), unspecified,
/// multicast and reserved addresses are always refused; loopback and private ranges only
/// when `allow_private` (the subscription's `allow_private_network`).
#[must_use]
pub fn address_allowed(ip: IpAddr, allow_private: bool) -> bool {
    match classify(ip) {
        Class::Public => true,
        Class::Private => allow_private,
        Class::Never => false,
    }
}

/// Why a webhook URL may not be delivered to, judged on its text alone (a literal address or
/// a `localhost` name); `None` when it may be tried. Names are checked again, on what they
/// resolve to, at delivery time.
#[must_use]
pub fn url_refusal(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        Ok(_) => return Some("only http and https URLs are delivered to".to_owned()),
        Err(e) => return Some(format!("not a URL: {e}")),
    };
    // The URL parser has already normalized numeric hosts (`2130706433`, `0x7f.1`).
    let Some(host) = parsed.host_str() else {
        return Some("the URL has no host".to_owned());
    };
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
            return Some(private_refusal(&name));
        }
        return None;
    };
    if address_allowed(ip, allow_private) {
        None
    } else if classify(ip) == Class::Private {
        Some(private_refusal(&ip.to_string()))
    } else {
        Some(format!(
            "{ip} is a link-local, multicast or reserved address"
        ))
    }
}

fn private_refusal(target: &str) -> String {
    format!("{target} is a loopback or private address: set allow_private_network to deliver there")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Private,
    Never,
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || a >= 240
    {
        Class::Never
    } else if ip.is_loopback()
        || ip.is_private()
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 198 && (b & 0xfe) == 18)
    {
        Class::Private
    } else {
        Class::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    let first = segments.first().copied().unwrap_or_default();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip.is_unspecified() || ip.is_multicast() || (first & 0xffc0) == 0xfe80 {
        Class::Never
    } else if ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfec0 {
        Class::Private
    } else {
        Class::Public
    }
}

/// A resolver that drops the addresses [`address_allowed`] refuses, and fails when none is left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| address_allowed(a.ip(), allow_private))
                .collect();
            if allowed.is_empty() && !found.is_empty() {
                let refusal = if allow_private {
                    format!("{host} resolves only to link-local, multicast or reserved addresses")
                } else {
                    private_refusal(&format!("{host} (resolved)"))
                };
                return Err(refusal.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_targets_are_judged_by_address() {
        for url in [
            "http://localhost:8080/x",
            "http://127.0.0.1/",
            "https://10.1.2.3/hook",
            "http://192.168.0.10:80",
            "http://172.16.5.4",
            "http://100.64.0.1",
            "http://[::1]:9000/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://user:pw@127.0.0.1/",
            "http://api.localhost/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(url_refusal(url, false).is_some(), "{url}");
            assert_eq!(
                url_refusal(url, true),
                None,
                "{url} allowed with allow_private_network"
            );
        }
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://[::]/",
            "http://[64:ff9b::a9fe:a9fe]/",
        ] {
            assert!(url_refusal(url, true).is_some(), "{url} is never allowed");
        }
        for url in [
            "https://crm.example.com/hooks",
            "https://8.8.8.8/",
            "http://[2001:4860::8888]/",
            "https://172.32.0.1/",
        ] {
            assert_eq!(url_refusal(url, false), None, "{url}");
        }
        assert!(url_refusal("ftp://example.com/", true).is_some());
        assert!(url_refusal("not a url", true).is_some());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let strict = GuardedResolver {
            allow_private: false,
        };
        let name: Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        let refused = strict.resolve(name).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("allow_private_network"), "{message}");

        let lan = GuardedResolver {
            allow_private: true,
        };
        let name: Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        let addrs: Vec<SocketAddr> = lan
            .resolve(name)
            .await
            .map(Iterator::collect)
            .unwrap_or_default();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}

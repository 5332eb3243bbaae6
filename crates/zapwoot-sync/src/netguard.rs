//! The address guard (SSRF): which addresses the bridge may connect to on behalf of someone
//! else — subscription receivers, media URLs named in webhooks, the hops of a redirect.
//!
//! The check runs where the address is known: on literal IP hosts before sending, and on
//! every address a name resolves to, inside the HTTP client's resolver — so the connection
//! uses only vetted addresses and a name cannot be re-pointed between check and connect
//! (DNS rebinding). Link-local (cloud metadata), unspecified, multicast and reserved
//! addresses are never allowed, not even for upstreams the operator configured.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Public,
    Private,
    Never,
}

impl Class {
    /// The stricter of the two.
    fn at_least(self, other: Self) -> Self {
        self.max(other)
    }
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
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
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
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d, deprecated but still routed by
    // some stacks) addresses reach the embedded IPv4 address.
    let [.., hi, lo] = segments;
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(hi, lo));
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return classify_v4(embedded(hi, lo)).at_least(Class::Private);
    }
    // 6to4 (2002::/16) embeds an IPv4 address in bits 16..48 and Teredo (2001:0::/32) tunnels
    // through relays to one: both can reach inside, so neither counts as public.
    if first == 0x2002 {
        let [_, hi, lo, ..] = segments;
        return classify_v4(embedded(hi, lo)).at_least(Class::Private);
    }
    if first == 0x2001 && segments[1] == 0 {
        return Class::Private;
    }
    if ip.is_unspecified() || ip.is_multicast() || (first & 0xffc0) == 0xfe80 {
        Class::Never
    } else if ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfec0 {
        Class::Private
    } else {
        Class::Public
    }
}

/// Why the bridge may never connect to `url`'s host, whoever configured it: a literal
/// link-local (cloud metadata), unspecified, multicast or reserved address, or a cloud
/// metadata name. Loopback and private addresses pass (upstreams often share the host or a
/// Docker network); names are checked again on what they resolve to when the upstream
/// clients are built with [`GuardedResolver`].
#[must_use]
pub fn never_refusal(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if [
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    ]
    .contains(&name.as_str())
    {
        return Some(format!("{name} is a cloud metadata service"));
    }
    let ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()?;
    (classify(ip) == Class::Never)
        .then(|| format!("{ip} is a link-local, multicast or reserved address"))
}

/// A resolver that drops the addresses [`address_allowed`] refuses, and fails when none is left.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Whether loopback and private addresses are allowed.
    pub allow_private: bool,
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
            "http://[::169.254.169.254]/",
            "http://[2002:a9fe:a9fe::1]/",
        ] {
            assert!(url_refusal(url, true).is_some(), "{url} is never allowed");
            assert!(never_refusal(url).is_some(), "{url} is never allowed");
        }
        // Addresses that embed or tunnel to an inner IPv4 address are not public.
        for url in [
            "http://[::127.0.0.1]/",
            "http://[::8.8.8.8]/",
            "http://[2002:7f00:1::1]/",
            "http://[2002:0808:0808::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://192.0.0.8/",
        ] {
            assert!(url_refusal(url, false).is_some(), "{url} is not public");
            assert_eq!(
                url_refusal(url, true),
                None,
                "{url} with allow_private_network"
            );
        }
        for url in [
            "http://127.0.0.1:3000/",
            "http://10.0.0.5/",
            "http://chatwoot:3000/",
            "https://chat.example.com/",
        ] {
            assert_eq!(never_refusal(url), None, "{url} is a fine upstream");
        }
        assert!(never_refusal("http://metadata.google.internal/").is_some());
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

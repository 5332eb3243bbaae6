//! The page shell: head, navigation, sign-out form.

use crate::access::Scope;
use maud::{DOCTYPE, Markup, html};

use super::session::Signed;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Overview,
    Activity,
    Events,
    Subscriptions,
    None,
}

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(csrf) = csrf { meta name="csrf-token" content=(csrf); }
            title { (title) " · zapwoot" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A signed-in page.
pub(super) fn page(title: &str, nav: Nav, signed: &Signed, body: &Markup) -> Markup {
    let entry = |to: Nav, href: &str, label: &str| {
        html! { a href=(href) class=[(nav == to).then_some("here")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(&signed.csrf)))
            body {
                header.top {
                    a.brand href="/console" { "zapwoot" }
                    nav {
                        @if signed.who.allows(Scope::InstancesRead) { (entry(Nav::Overview, "/console", "Overview")) }
                        @if signed.who.allows(Scope::EventsRead) {
                            (entry(Nav::Activity, "/console/activity", "Activity"))
                            (entry(Nav::Events, "/console/events", "Events"))
                        }
                        @if signed.who.allows(Scope::SubscriptionsRead) { (entry(Nav::Subscriptions, "/console/subscriptions", "Subscriptions")) }
                    }
                    form method="post" action="/console/logout" {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        button.secondary type="submit" data-testid="sign-out" { "Sign out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page for someone not signed in.
pub(super) fn bare(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body { main.login { h1 { (title) } (body) } }
        }
    }
}

/// A short message for someone not signed in.
pub(super) fn message(title: &str, text: &str) -> Markup {
    bare(
        title,
        &html! { p { (text) } p { a href="/console/login" { "Sign in" } } },
    )
}

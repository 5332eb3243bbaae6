use std::time::Duration;

use http::Method;
use zapwoot_chatwoot::{Client, Error, NewMessage};
use zapwoot_fakes::FaultAction;

use crate::support::env;

#[tokio::test]
async fn retryable_failures_are_classified() {
    let env = env().await;
    let (_, conversation) = env.conversation("+5511990001111").await;
    let path = format!(
        "/api/v1/accounts/{}/conversations/{conversation}/messages",
        env.fake.account_id()
    );

    env.fake.faults().fail(Method::POST, &path, 429, 1);
    let err = env
        .api
        .create_message(conversation, &NewMessage::incoming("a"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
    assert_eq!(
        err.retry_after(),
        None,
        "Chatwoot sends no Retry-After on 429"
    );

    env.fake.faults().fail(Method::POST, &path, 503, 1);
    let err = env
        .api
        .create_message(conversation, &NewMessage::incoming("a"))
        .await
        .unwrap_err();
    assert!(err.is_retryable() && err.status() == Some(503));

    env.fake
        .faults()
        .inject(Some(Method::POST), &path, FaultAction::Reset, Some(1));
    let err = env
        .api
        .create_message(conversation, &NewMessage::incoming("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());

    // After the faults, the same call works: nothing was created by the failed attempts.
    env.api
        .create_message(conversation, &NewMessage::incoming("a"))
        .await
        .unwrap();
    assert_eq!(env.fake.messages(conversation).len(), 1);

    let err = env.api.conversation(31_337).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_retryable());
}

#[tokio::test]
async fn down_and_slow_upstreams_surface_as_transport_errors() {
    let env = env().await;
    env.fake.faults().set_down(true);
    let err = env.api.inboxes().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. }) && err.is_retryable(),
        "{err:?}"
    );
    env.fake.faults().clear();

    let impatient = Client::builder(env.fake.url(), env.fake.admin_token())
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap()
        .account(env.fake.account_id());
    env.fake.faults().set_latency(Duration::from_millis(300));
    let err = impatient.inboxes().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. }) && err.is_retryable(),
        "{err:?}"
    );
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    let env = env().await;
    let token = env.fake.admin_token().to_owned();
    let client = Client::builder(env.fake.url(), &token).build().unwrap();
    assert!(!format!("{client:?}").contains(&token));
    let err = client.account(1).conversation(5).await.unwrap_err();
    assert!(!format!("{err:?} {err}").contains(&token));

    assert!(matches!(
        Client::builder("ftp://x", "t").build(),
        Err(Error::InvalidUrl(_))
    ));
    assert!(matches!(
        Client::builder("not a url", "t").build(),
        Err(Error::InvalidUrl(_))
    ));
}

/// A redirect from the configured Chatwoot is an answer, not an instruction: the token never
/// travels to the host it names.
#[tokio::test]
async fn api_calls_do_not_follow_redirects_with_the_token() {
    let elsewhere = zapwoot_fakes::Receiver::start().await.unwrap();
    let redirector = zapwoot_fakes::Receiver::start().await.unwrap();
    redirector.set_status(302);
    redirector.set_reply(
        &[("location", &format!("{}/api/v1/profile", elsewhere.url()))],
        Vec::new(),
    );
    let client = Client::builder(redirector.url(), "secret-token-1234")
        .build()
        .unwrap();
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err}");
    assert_eq!(redirector.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "the redirect was followed to another host"
    );
}

/// Transport and decode failures keep their cause (`source()`), and neither the error, its
/// `Debug`, nor any cause in the chain names the token.
#[tokio::test]
async fn errors_keep_their_cause_and_never_the_token() {
    use std::error::Error as _;
    const TOKEN: &str = "cw-token-NEVER-IN-ERRORS";
    fn chain(err: &Error) -> String {
        let mut text = format!("{err} {err:?}");
        let mut cause = err.source();
        while let Some(c) = cause {
            text.push_str(&format!(" | {c} {c:?}"));
            cause = c.source();
        }
        text
    }
    let garbage = zapwoot_fakes::Receiver::start().await.unwrap();
    garbage.set_status(200);
    garbage.set_reply(
        &[("content-type", "application/json")],
        b"{not json".to_vec(),
    );
    let client = Client::builder(garbage.url(), TOKEN).build().unwrap();
    let err = client.profile().await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(err.source().is_some(), "the JSON error is kept");
    assert!(!chain(&err).contains(TOKEN), "{}", chain(&err));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::builder(&url, TOKEN).build().unwrap();
    let err = client.profile().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.source().is_some(), "the HTTP client's error is kept");
    assert!(!chain(&err).contains(TOKEN), "{}", chain(&err));
}

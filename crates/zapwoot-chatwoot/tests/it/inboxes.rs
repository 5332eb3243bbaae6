use zapwoot_chatwoot::{Client, Error, NewApiInbox};

use crate::support::env;

#[tokio::test]
async fn profile_validates_the_token() {
    let env = env().await;
    let profile = env.api.client().profile().await.unwrap();
    assert_eq!(profile.accounts[0].id, env.fake.account_id());
    assert_eq!(profile.role.as_deref(), Some("administrator"));
    assert!(
        !format!("{profile:?}").contains(env.fake.admin_token()),
        "the access token is not kept"
    );

    let bad = Client::builder(env.fake.url(), "not-a-token")
        .build()
        .unwrap();
    let err = bad.profile().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("Invalid Access Token"));
    assert!(!err.is_retryable());

    // The token travels in a header the fake accepts (dashed form, nginx-safe).
    let logged = env.fake.requests();
    assert!(
        logged
            .iter()
            .all(|r| r.request.header("api-access-token").is_some())
    );
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn api_inboxes_are_created_pointed_and_rekeyed() {
    let env = env().await;
    let created = env
        .api
        .create_api_inbox(&NewApiInbox::new(
            "Sales WhatsApp",
            "http://127.0.0.1:9/webhooks/chatwoot/k1",
        ))
        .await
        .unwrap();
    assert!(created.is_api());
    assert_eq!(
        created.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/webhooks/chatwoot/k1")
    );
    let secret = created.secret.clone().expect("admins see the secret");
    assert_eq!(secret.expose().len(), 24);
    assert_eq!(format!("{secret:?}"), "[redacted]");

    let listed = env.api.inboxes().await.unwrap();
    assert_eq!(listed.len(), 2);
    let fetched = env.api.inbox(created.id).await.unwrap();
    assert_eq!(fetched.name, "Sales WhatsApp");

    let moved = env
        .api
        .set_inbox_webhook_url(created.id, "http://127.0.0.1:9/new")
        .await
        .unwrap();
    assert_eq!(moved.webhook_url.as_deref(), Some("http://127.0.0.1:9/new"));

    let rekeyed = env.api.reset_inbox_secret(created.id).await.unwrap();
    assert_ne!(rekeyed.secret.unwrap().expose(), secret.expose());

    assert!(env.api.inbox(987_654).await.unwrap_err().is_not_found());
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn agents_cannot_administer_inboxes() {
    let env = env().await;
    let agent = Client::builder(env.fake.url(), env.fake.agent_token())
        .build()
        .unwrap()
        .account(env.fake.account_id());
    let err = agent
        .create_api_inbox(&NewApiInbox::new("x", "http://127.0.0.1:9/"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 401, body, .. } if body.contains("not authorized")),
        "{err}"
    );
    let err = agent.reset_inbox_secret(env.inbox.id).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    // Agents see the inbox, but not its secret.
    assert!(agent.inbox(env.inbox.id).await.unwrap().secret.is_none());
}

#[tokio::test]
async fn a_wrong_account_is_refused() {
    let env = env().await;
    let other = env.api.client().account(99);
    let err = other.inboxes().await.unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 401, body, .. } if body.contains("not authorized to access this account")),
        "{err}"
    );
}

//! Pairing through both clients against the fakes' pairing lifecycle: the QR code (and its
//! rotation), the linking code, logout, reconnect, and "already paired".

use std::time::Duration;

use zapwoot_fakes::{
    FakeGowa, FakeGowaConfig, FakeWuzapi, FakeWuzapiConfig, Receiver, code_in_png,
};
use zapwoot_gateway::gowa::GowaClient;
use zapwoot_gateway::wuzapi::{self, WuzapiClient};
use zapwoot_gateway::{ConnectionState, Error, Gateway, InboundEvent};

const DEVICE: &str = "org_1";

#[tokio::test]
async fn wuzapi_pairs_by_qr_with_rotation_and_webhooks_then_logs_out() {
    let mut config = FakeWuzapiConfig::default();
    config.unpaired = true;
    let fake = FakeWuzapi::start(config).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    fake.set_webhook(&receiver.url(), &["All"]);
    let client = WuzapiClient::new(&fake.url(), fake.token()).unwrap();
    let gateway: &dyn Gateway = &client;
    let health = gateway.health().await.unwrap();
    assert!(!health.logged_in && !health.connected && health.jid.is_none());

    // Not connected: the client connects (subscribing to all events) and gets the first code.
    let qr = gateway.login_qr().await.unwrap();
    assert_eq!(code_in_png(&qr.png), fake.current_qr());
    assert_eq!(qr.valid_for, Some(Duration::from_secs(20)));
    assert!(qr.data_url().starts_with("data:image/png;base64,"));
    assert_eq!(fake.webhook().1, vec!["All".to_owned()]);
    // WhatsApp rotates the code: the next call shows the new one, and each code was a webhook.
    fake.rotate_qr();
    let next = gateway.login_qr().await.unwrap();
    assert_ne!(next.png, qr.png);
    assert_eq!(code_in_png(&next.png), fake.current_qr());
    assert_eq!(fake.qr_generation(), 2);

    assert!(fake.scan());
    let health = gateway.health().await.unwrap();
    assert!(health.logged_in && health.connected && health.jid.is_some());
    assert!(matches!(
        gateway.login_qr().await,
        Err(Error::AlreadyPaired)
    ));
    assert!(matches!(
        gateway.pair_code("5511988887777").await,
        Err(Error::AlreadyPaired)
    ));

    // Two QR webhooks, then PairSuccess and Connected, parsed into connection states.
    let posts = receiver.wait_for(4, Duration::from_secs(10)).await.unwrap();
    let states: Vec<(String, ConnectionState)> = posts
        .iter()
        .map(|p| {
            let webhook =
                wuzapi::parse(p.header("content-type").unwrap_or_default(), &p.body).unwrap();
            let state = match webhook.events.first() {
                Some(InboundEvent::Connection(c)) => c.state,
                other => panic!("{other:?}"),
            };
            (webhook.event_type, state)
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("QR".to_owned(), ConnectionState::Pairing),
            ("QR".to_owned(), ConnectionState::Pairing),
            ("PairSuccess".to_owned(), ConnectionState::Connected),
            ("Connected".to_owned(), ConnectionState::Connected),
        ]
    );

    gateway.reconnect().await.unwrap();
    assert!(gateway.health().await.unwrap().connected);
    gateway.logout().await.unwrap();
    let health = gateway.health().await.unwrap();
    assert!(!health.logged_in && !health.connected);
}

#[tokio::test]
async fn wuzapi_pairs_by_linking_code() {
    let mut config = FakeWuzapiConfig::default();
    config.unpaired = true;
    let fake = FakeWuzapi::start(config).await.unwrap();
    let client = WuzapiClient::new(&fake.url(), fake.token()).unwrap();
    let code = Gateway::pair_code(&client, "5511988887777").await.unwrap();
    assert_eq!(
        fake.pair_code(),
        Some((code.code.clone(), "5511988887777".to_owned()))
    );
    assert!(fake.scan());
    assert!(client.session_status().await.unwrap().logged_in);
}

async fn gowa(device: Option<&str>) -> (FakeGowa, GowaClient) {
    let config = FakeGowaConfig::default();
    let (user, pass) = (config.username.clone(), config.password.clone());
    let fake = FakeGowa::start(config).await.unwrap();
    fake.set_logged_in(DEVICE, false);
    let mut builder = GowaClient::builder(fake.url()).basic_auth(user, pass);
    if let Some(device) = device {
        builder = builder.device_id(device);
    }
    (fake, builder.build().unwrap())
}

#[tokio::test]
async fn gowa_pairs_by_qr_on_device_routes_and_on_old_app_routes() {
    for device in [Some(DEVICE), None] {
        let (fake, client) = gowa(device).await;
        assert!(!client.session().await.unwrap().logged_in);
        // qr_link names GOWA's own idea of its address; the image comes from ours.
        let qr = Gateway::login_qr(&client).await.unwrap();
        assert_eq!(code_in_png(&qr.png), fake.current_qr(DEVICE), "{device:?}");
        assert_eq!(qr.valid_for, Some(Duration::from_secs(30)));
        // One login call, one QR flow: the client never calls it in a loop.
        assert_eq!(fake.login_calls(DEVICE), 1);
        assert!(fake.scan(DEVICE));
        let session = client.session().await.unwrap();
        assert!(session.logged_in && session.connected);
        assert!(matches!(
            Gateway::login_qr(&client).await,
            Err(Error::AlreadyPaired)
        ));
        assert!(matches!(
            Gateway::pair_code(&client, "5511988887777").await,
            Err(Error::AlreadyPaired)
        ));
        Gateway::reconnect(&client).await.unwrap();
        Gateway::logout(&client).await.unwrap();
        assert!(!client.session().await.unwrap().logged_in, "{device:?}");
    }
}

#[tokio::test]
async fn gowa_pairs_by_linking_code() {
    for device in [Some(DEVICE), None] {
        let (fake, client) = gowa(device).await;
        let code = Gateway::pair_code(&client, "5511988887777").await.unwrap();
        assert_eq!(
            fake.pair_code(DEVICE),
            Some((code.code.clone(), "5511988887777".to_owned()))
        );
        // GOWA's own validation reaches the caller.
        assert!(matches!(
            Gateway::pair_code(&client, "+5511").await,
            Err(Error::Status { .. })
        ));
        assert!(fake.scan(DEVICE));
        assert!(client.session().await.unwrap().logged_in);
    }
}

use zapwoot_chatwoot::{AccountClient, Client, NewContact, NewConversation};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeInbox};

pub struct Env {
    pub fake: FakeChatwoot,
    pub api: AccountClient,
    pub inbox: FakeInbox,
}

pub async fn env() -> Env {
    env_with(FakeChatwootConfig::default(), None).await
}

pub async fn env_with(config: FakeChatwootConfig, webhook_url: Option<&str>) -> Env {
    let fake = FakeChatwoot::start(config).await.unwrap();
    let client = Client::builder(fake.url(), fake.admin_token())
        .build()
        .unwrap();
    let api = client.account(fake.account_id());
    let inbox = fake.add_api_inbox("WhatsApp +55 11", webhook_url);
    Env { fake, api, inbox }
}

impl Env {
    /// A contact with a contact inbox and an open conversation; returns (contact, conversation).
    pub async fn conversation(&self, phone: &str) -> (u64, u64) {
        let mut contact = NewContact::new();
        contact.inbox_id = Some(self.inbox.id);
        contact.source_id = Some(format!("{}@s.whatsapp.net", phone.trim_start_matches('+')));
        contact.name = Some(format!("Customer {phone}"));
        contact.phone_number = Some(phone.to_owned());
        let created = self.api.create_contact(&contact).await.unwrap();
        let source = created.source_id.clone().unwrap();
        let conversation = self
            .api
            .create_conversation(&NewConversation::new(
                source,
                self.inbox.id,
                created.contact.id,
            ))
            .await
            .unwrap();
        (created.contact.id, conversation.id)
    }

    pub fn assert_no_unexpected_calls(&self) {
        let unexpected = self.fake.unexpected_requests();
        assert!(unexpected.is_empty(), "unexpected calls: {unexpected:?}");
    }
}

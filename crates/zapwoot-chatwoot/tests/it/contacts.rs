use serde_json::{Map, json};
use zapwoot_chatwoot::NewContact;

use crate::support::env;

fn contact(phone: &str, source: &str, inbox: u64) -> NewContact {
    let mut c = NewContact::new();
    c.inbox_id = Some(inbox);
    c.source_id = Some(source.to_owned());
    c.name = Some("Maria Silva".to_owned());
    c.phone_number = Some(phone.to_owned());
    c.identifier = Some(source.to_owned());
    c
}

#[tokio::test]
async fn create_and_find_exactly() {
    let env = env().await;
    let created = env
        .api
        .create_contact(&contact(
            "+5511987654321",
            "5511987654321@s.whatsapp.net",
            env.inbox.id,
        ))
        .await
        .unwrap();
    assert_eq!(
        created.source_id.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(
        created.contact.phone_number.as_deref(),
        Some("+5511987654321")
    );
    assert_eq!(created.contact.contact_inboxes.len(), 1);
    assert_eq!(created.contact.contact_inboxes[0].inbox.id, env.inbox.id);

    let found = env
        .api
        .find_contact_by_source_id(env.inbox.id, "5511987654321@s.whatsapp.net")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, created.contact.id);
    assert!(
        env.api
            .find_contact_by_source_id(env.inbox.id, "5511@s.whatsapp.net")
            .await
            .unwrap()
            .is_none()
    );

    let by_phone = env
        .api
        .find_contacts_by_phone("+5511987654321")
        .await
        .unwrap();
    assert_eq!(by_phone.len(), 1);
    assert!(
        env.api
            .find_contacts_by_phone("+551198765432")
            .await
            .unwrap()
            .is_empty(),
        "exact, not substring"
    );

    // Search is a substring match: the prefix finds it too.
    let search = env.api.search_contacts("5511987", 1).await.unwrap();
    assert_eq!(search.meta.count, 1);
    assert_eq!(search.payload[0].id, created.contact.id);

    assert_eq!(
        env.api
            .contact(created.contact.id)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Maria Silva")
    );
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn upstream_validation_is_enforced() {
    let env = env().await;
    for bad in ["5511987654321", "+0551", "+55 11 98765"] {
        let err = env
            .api
            .create_contact(&contact(bad, &format!("{bad}@x"), env.inbox.id))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(422), "{bad}");
        assert!(err.to_string().contains("e164"), "{err}");
    }
    env.api
        .create_contact(&contact("+5511900000001", "a@s.whatsapp.net", env.inbox.id))
        .await
        .unwrap();
    let err = env
        .api
        .create_contact(&contact("+5511900000001", "b@s.whatsapp.net", env.inbox.id))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Phone number has already been taken"),
        "{err}"
    );
}

#[tokio::test]
async fn update_merges_attributes_and_contact_inboxes_are_idempotent() {
    let env = env().await;
    let mut new = contact(
        "+5511911112222",
        "5511911112222@s.whatsapp.net",
        env.inbox.id,
    );
    new.custom_attributes = Some(Map::from_iter([("plan".to_owned(), json!("gold"))]));
    let created = env.api.create_contact(&new).await.unwrap();

    let mut change = NewContact::new();
    change.name = Some("Maria S.".into());
    change.custom_attributes = Some(Map::from_iter([("lid".to_owned(), json!("123@lid"))]));
    let updated = env
        .api
        .update_contact(created.contact.id, &change)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Maria S."));
    assert_eq!(
        updated.custom_attributes.get("plan"),
        Some(&json!("gold")),
        "merged, not replaced"
    );
    assert_eq!(
        updated.custom_attributes.get("lid"),
        Some(&json!("123@lid"))
    );

    let other = env.fake.add_api_inbox("Second number", None);
    for _ in 0..2 {
        let ci = env
            .api
            .add_contact_inbox(created.contact.id, other.id, "5511911112222@s.whatsapp.net")
            .await
            .unwrap();
        assert_eq!(ci.source_id, "5511911112222@s.whatsapp.net");
        assert_eq!(ci.inbox.id, other.id);
    }
    let after = env.api.contact(created.contact.id).await.unwrap();
    assert_eq!(after.contact_inboxes.len(), 2);
    assert!(
        env.api
            .contact_conversations(created.contact.id)
            .await
            .unwrap()
            .is_empty()
    );
}

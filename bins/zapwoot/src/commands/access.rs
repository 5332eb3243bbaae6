//! `zapwoot tenant …` and `zapwoot key …`, on the store directly (a running bridge sees a
//! revocation within 5 s).

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::{fail, print_json};
use crate::access::documents::{create_key, create_tenant, key_view, tenant_view};
use crate::cli::{Global, KeyCommand, TenantCommand};

/// `zapwoot tenant …`.
pub(crate) async fn tenant(global: &Global, command: TenantCommand) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    match command {
        TenantCommand::Add { name, description } => {
            let made = create_tenant(&store, &json!({ "name": name, "description": description }))
                .await
                .map_err(|e| fail(&e))?;
            print_json(&tenant_view(&made, None))
        }
        TenantCommand::List => {
            for t in store.tenants().list().await? {
                let m = store.tenants().members(&t.name).await?;
                println!(
                    "{}\tinstances={}\tsubscriptions={}\tkeys={}\t{}",
                    t.name, m.instances, m.subscriptions, m.keys, t.description
                );
            }
            Ok(())
        }
        TenantCommand::Show { name } => {
            let Some(t) = store.tenants().get(&name).await? else {
                bail!("no tenant named {name:?}");
            };
            let mut view = tenant_view(&t, Some(store.tenants().members(&name).await?));
            let names: Vec<String> = store
                .instances()
                .list()
                .await?
                .into_iter()
                .filter(|i| i.config.tenant.as_deref() == Some(name.as_str()))
                .map(|i| i.config.name)
                .collect();
            if let Value::Object(map) = &mut view {
                map.insert("instance_names".into(), json!(names));
            }
            print_json(&view)
        }
        TenantCommand::Remove { name } => {
            if !store.tenants().delete(&name).await? {
                bail!("no tenant named {name:?}");
            }
            println!("removed {name}");
            Ok(())
        }
    }
}

/// `zapwoot key …`.
pub(crate) async fn key(global: &Global, command: KeyCommand) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    match command {
        KeyCommand::Add {
            name,
            scopes,
            tenant,
            instances,
            expires_at,
            rate_per_minute,
        } => {
            let mut doc = json!({ "name": name, "scopes": scopes });
            if let Value::Object(map) = &mut doc {
                if let Some(t) = tenant {
                    map.insert("tenant".into(), json!(t));
                }
                if !instances.is_empty() {
                    map.insert("instances".into(), json!(instances));
                }
                if let Some(at) = expires_at {
                    map.insert("expires_at".into(), json!(at));
                }
                if let Some(r) = rate_per_minute {
                    map.insert("rate_per_minute".into(), json!(r));
                }
            }
            let (made, secret) = create_key(&store, &doc).await.map_err(|e| fail(&e))?;
            let mut view = key_view(&made);
            if let Value::Object(map) = &mut view {
                map.insert("key".into(), json!(secret));
            }
            print_json(&view)
        }
        KeyCommand::List => {
            for k in store.api_keys().list().await? {
                let active = k.is_active(jiff::Timestamp::now().as_millisecond());
                println!(
                    "{}\t{}\t{}\t{}\ttenant={}\t{}",
                    k.id,
                    k.prefix,
                    k.name,
                    k.scopes.join(","),
                    k.tenant.as_deref().unwrap_or("-"),
                    if active { "active" } else { "inactive" }
                );
            }
            Ok(())
        }
        KeyCommand::Revoke { id } => {
            if store.api_keys().get(id).await?.is_none() {
                bail!("no key {id}");
            }
            store.api_keys().revoke(id).await?;
            println!("revoked key {id}");
            Ok(())
        }
    }
}

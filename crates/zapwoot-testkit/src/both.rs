//! [`on_both_databases!`](crate::on_both_databases): one test, run on SQLite and on PostgreSQL.

/// Defines each test twice, as `$name::sqlite` and `$name::postgres`, each with a fresh
/// [`Db`](crate::Db) of that backend.
///
/// `on_both_databases! { async fn name(db) { … } }` hands the test the [`Db`](crate::Db)
/// itself. With `@with prepare, Type;` first, the test gets `prepare(db).await: Type` instead
/// (a suite's own harness built on the database), so the body is written once:
///
/// ```ignore
/// zapwoot_testkit::on_both_databases! {
///     @with crate::support::TestDb::ready, crate::support::TestDb;
///     async fn round_trip(db) { let store = db.open().await; /* … */ }
/// }
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($(async fn $name:ident($arg:ident) $body:block)*) => {
        $crate::on_both_databases! {
            @with ::std::future::ready, $crate::Db;
            $(async fn $name($arg) $body)*
        }
    };
    (@with $prepare:expr, $ty:ty; $(async fn $name:ident($arg:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($arg: $ty) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    run(($prepare)($crate::Db::sqlite()).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    run(($prepare)($crate::Db::postgres()).await).await
                }
            }
        )*
    };
}

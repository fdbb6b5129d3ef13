//! The administration commands of the real binary (`keys`, `tiers`,
//! `usage`) on SQLite (`--data-dir`) and PostgreSQL (`DATABASE_URL`).

mod common;

use std::process::{Command, Output};

use common::{Backend, TestDb};

fn run(db: &TestDb, backend: Backend, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocr-server"));
    command.args(args).env_remove("DATABASE_URL");
    match backend {
        Backend::Sqlite => command.arg("--data-dir").arg(&db.data_dir),
        Backend::Postgres => command.env("DATABASE_URL", &db.url),
    };
    let out = command.output().expect("run ocr-server");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn keys_are_created_listed_and_revoked_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let tiers = stdout(&run(&db, backend, &["tiers", "list"]));
        for row in ["free", "pro", "pro_pdf", "enterprise"] {
            assert!(tiers.lines().any(|l| l.starts_with(&format!("{row} "))), "{backend:?}: {tiers}");
        }
        assert!(tiers.contains("25000") && tiers.contains("300000"), "{tiers}");

        let created = stdout(&run(&db, backend, &["keys", "create", "--tier", "pro", "--name", "billing"]));
        let field =
            |name: &str| created.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap();
        let (id, secret) = (field("key id:"), field("apikey:"));
        assert!(secret.starts_with("ocr_") && secret.len() == 36, "{created}");

        let listed = stdout(&run(&db, backend, &["keys", "list"]));
        assert!(listed.contains(&id) && listed.contains("billing") && listed.contains("active"), "{listed}");
        assert!(!listed.contains(&secret), "secrets are never listed");
        let demo_row = listed.lines().find(|l| l.starts_with("demo ")).unwrap_or_default().to_string();
        match backend {
            // The embedded default accepts the demo key; on PostgreSQL it is off by default.
            Backend::Sqlite => assert!(demo_row.contains("active"), "{listed}"),
            Backend::Postgres => assert!(demo_row.is_empty() || demo_row.contains("revoked"), "{listed}"),
        }

        let revoked = stdout(&run(&db, backend, &["keys", "revoke", &id]));
        assert!(revoked.starts_with(&format!("revoked {id}")), "{revoked}");
        let listed = stdout(&run(&db, backend, &["keys", "list"]));
        let row = listed.lines().find(|l| l.starts_with(&id)).unwrap();
        assert!(row.contains("revoked"), "{row}");

        let usage = stdout(&run(&db, backend, &["usage", &id]));
        assert!(usage.starts_with("key"), "{usage}");

        let mut unknown = Command::new(env!("CARGO_BIN_EXE_ocr-server"));
        unknown.args(["keys", "create", "--tier", "platinum", "--data-dir"]).arg(&db.data_dir);
        let out = unknown.env_remove("DATABASE_URL").output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no tier 'platinum'"));
    }
}

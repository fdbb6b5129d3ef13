//! Administration commands: `keys`, `tiers`, `usage`. They read the same
//! configuration as `serve` (`--config`, `--data-dir`, `DATABASE_URL`) and
//! work on PostgreSQL and SQLite alike.

use std::io::Write;

use clap::Subcommand;

use crate::cli::CliError;
use crate::cli::ConfigArgs;
use crate::store::{civil_date, Store};

/// `ocr-server keys …`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
}

/// Key operations.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; its secret is printed once and only its hash is stored.
    Create {
        /// Tier id (see `ocr-server tiers list`).
        #[arg(long)]
        tier: String,
        /// A label for the key.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (ids, tiers, names, times; never secrets).
    List,
    /// Revoke a key by id; requests with it are refused at once.
    Revoke {
        /// The key id (`key_…`).
        key_id: String,
    },
}

/// `ocr-server tiers …`.
#[derive(Debug, clap::Args)]
pub struct TiersArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: TiersAction,
}

/// Tier operations.
#[derive(Debug, Subcommand)]
pub enum TiersAction {
    /// List tiers and their limits.
    List,
}

/// `ocr-server usage [KEY_ID]`.
#[derive(Debug, clap::Args)]
pub struct UsageArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this key's usage.
    pub key_id: Option<String>,
}

/// Opens the configured database (applying migrations and the
/// configuration-owned rows, as `serve` does).
async fn open(config: &ConfigArgs) -> Result<Store, CliError> {
    let config = config.load().map_err(admin)?;
    let store = Store::connect(&config.database_url(), config.database.max_connections).await.map_err(admin)?;
    store.sync_configured_rows(config.demo_key().as_deref(), config.enterprise_limits()).await.map_err(admin)?;
    Ok(store)
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    actix_web::rt::System::new().block_on(future)
}

fn io(e: std::io::Error) -> CliError {
    CliError::Output { path: "<stdout>".into(), source: e }
}

fn admin(e: impl std::fmt::Display) -> CliError {
    CliError::Admin(e.to_string())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn timestamp(unix: i64) -> String {
    let (y, m, d) = civil_date(unix);
    let secs = unix.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Runs `keys`.
pub fn run_keys(args: &KeysArgs, out: &mut dyn Write) -> Result<(), CliError> {
    block_on(async {
        let store = open(&args.config).await?;
        match &args.action {
            KeysAction::Create { tier, name } => {
                let created = store.create_key(tier, name).await.map_err(admin)?;
                writeln!(out, "key id: {}", created.key.id).map_err(io)?;
                writeln!(out, "tier:   {}", created.key.tier_id).map_err(io)?;
                writeln!(out, "apikey: {}", created.secret).map_err(io)?;
                writeln!(out, "(the apikey is shown only now; the server stores its hash)").map_err(io)?;
            }
            KeysAction::List => {
                writeln!(out, "{:<16} {:<12} {:<20} {:<20} status", "id", "tier", "name", "created (UTC)")
                    .map_err(io)?;
                for key in store.list_keys().await.map_err(admin)? {
                    let status = key.revoked_at.map_or("active".to_string(), |t| format!("revoked {}", timestamp(t)));
                    writeln!(
                        out,
                        "{:<16} {:<12} {:<20} {:<20} {status}",
                        key.id,
                        key.tier_id,
                        key.name,
                        timestamp(key.created_at)
                    )
                    .map_err(io)?;
                }
            }
            KeysAction::Revoke { key_id } => {
                let key = store.revoke_key(key_id).await.map_err(admin)?;
                let when = key.revoked_at.map(timestamp).unwrap_or_default();
                writeln!(out, "revoked {} (tier {}) at {when} UTC", key.id, key.tier_id).map_err(io)?;
            }
        }
        Ok(())
    })
}

/// Runs `tiers`.
pub fn run_tiers(args: &TiersArgs, out: &mut dyn Write) -> Result<(), CliError> {
    block_on(async {
        let store = open(&args.config).await?;
        let TiersAction::List = args.action;
        let limit = |n: i64| if n == 0 { "unlimited".to_string() } else { n.to_string() };
        writeln!(
            out,
            "{:<12} {:<12} {:>14} {:>12} {:>10} {:>14} searchable_pdf",
            "id", "name", "requests/month", "max_file_kb", "max_pages", "requests/IP/day"
        )
        .map_err(io)?;
        for tier in store.list_tiers().await.map_err(admin)? {
            writeln!(
                out,
                "{:<12} {:<12} {:>14} {:>12} {:>10} {:>14} {}",
                tier.id,
                tier.name,
                limit(tier.monthly_requests),
                tier.max_file_kb,
                tier.max_pdf_pages,
                limit(tier.ip_daily_requests),
                if tier.searchable_pdf { "yes" } else { "no" }
            )
            .map_err(io)?;
        }
        Ok(())
    })
}

/// Runs `usage`.
pub fn run_usage(args: &UsageArgs, out: &mut dyn Write) -> Result<(), CliError> {
    block_on(async {
        let store = open(&args.config).await?;
        let rows = store.usage(args.key_id.as_deref()).await.map_err(admin)?;
        let header = ["key", "month", "requests", "in flight", "pages", "bytes"];
        writeln!(
            out,
            "{:<16} {:<8} {:>10} {:>10} {:>10} {:>14}",
            header[0], header[1], header[2], header[3], header[4], header[5]
        )
        .map_err(io)?;
        for row in rows {
            writeln!(
                out,
                "{:<16} {:<8} {:>10} {:>10} {:>10} {:>14}",
                row.key_id, row.month, row.requests, row.reserved, row.pages, row.bytes
            )
            .map_err(io)?;
        }
        Ok(())
    })
}

//! `codex-pooler`: the reference server and operator CLI.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use codex_pooler_core::model::{KeyStatus, Lifecycle, PoolStatus};
use codex_pooler_core::store::PoolStore;
use codex_pooler_fake_upstream::{self as fake_upstream, FakeAccount, FakeConfig};
use codex_pooler_server::cli::{
    Cli, Command, GlobalArgs, KeysCommand, OperatorsCommand, PoolsCommand, RecordsCommand,
    SecretsCommand, TokensCommand, UpstreamsCommand,
};
use codex_pooler_server::commands::{
    audit, keys, login, operators, pool_lifecycle, pools, quota, records, secrets,
    upstream_changes, upstreams, usage,
};
use codex_pooler_server::error::ServerError;
use codex_pooler_server::operators::{OperatorStatus, Role, TokenKind};
use codex_pooler_server::serve;
use codex_pooler_server::settings::Settings;
use codex_pooler_tower::credentials::import_auth_json;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let (cli, flags) = Cli::parse_with_flags();
    // Commands are quiet unless something is wrong; the server logs its own events at info.
    // Library chatter (migrations, SQL) stays below the default either way; RUST_LOG overrides.
    let default_filter = match &cli.command {
        Command::Serve(_) | Command::FakeUpstream { .. } => {
            "info,sea_orm=warn,sea_orm_migration=warn,sqlx=warn"
        }
        _ => "warn,sea_orm_migration=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    // One TLS provider for the whole process (ring); an Err means one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, &flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The fake backend's accounts: from `auth.json` files when given, else `count` synthetic ones.
fn fake_accounts(
    count: usize,
    files: &[std::path::PathBuf],
) -> Result<Vec<FakeAccount>, ServerError> {
    if files.is_empty() {
        return Ok((1..=count)
            .map(|i| {
                FakeAccount::new(
                    format!("acct-{i}"),
                    format!("token-{i}"),
                    format!("fake-{i}"),
                )
            })
            .collect());
    }
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path)
                .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
            let auth = import_auth_json(&bytes, std::time::SystemTime::now())?;
            let label = auth
                .email
                .clone()
                .unwrap_or_else(|| auth.chatgpt_account_id.clone());
            Ok(FakeAccount::new(
                auth.chatgpt_account_id.clone(),
                auth.access_token.expose(),
                label,
            ))
        })
        .collect()
}

/// Runs one command; `flags` are the store settings given on the command line (see
/// [`Cli::parse_with_flags`]).
async fn run(cli: Cli, flags: &GlobalArgs) -> Result<(), ServerError> {
    let settings = Settings::resolve(&cli.global);
    let Some(event) = audit::describe(&cli.command) else {
        return run_command(cli.command, &settings, flags).await;
    };
    let result = run_command(cli.command, &settings, flags).await;
    // A command that could not open the store has nothing to audit into.
    if let Ok(store) = settings.open_store().await {
        audit::record(&store, event, &result).await;
    }
    result
}

/// Runs one command against the store `settings` name.
async fn run_command(
    command: Command,
    settings: &Settings,
    flags: &GlobalArgs,
) -> Result<(), ServerError> {
    let settings = settings.clone();
    match command {
        Command::Serve(args) if args.demo => serve::run_demo(flags, args).await,
        Command::Serve(args) => serve::run(settings, args).await,
        Command::FakeUpstream {
            listen,
            accounts,
            auth_json,
        } => {
            let accounts = fake_accounts(accounts, &auth_json)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| ServerError::io(format!("binding {listen}"), e))?;
            println!(
                "fake upstream listening on http://{}",
                listener
                    .local_addr()
                    .map_err(|e| ServerError::io("address", e))?
            );
            fake_upstream::serve(listener, FakeConfig::with_accounts(accounts))
                .await
                .map_err(|e| ServerError::io("serving the fake upstream", e))
        }
        Command::Pools { command } => {
            let store = settings.open_store().await?;
            match command {
                PoolsCommand::Create { slug, strategy, v1 } => {
                    pools::create(&*store, &slug, strategy.as_deref(), v1)
                        .await
                        .map(drop)
                }
                PoolsCommand::SetV1 { slug, enabled } => {
                    pools::set_v1(&*store, &slug, enabled).await
                }
                PoolsCommand::SetStrategy { slug, strategy } => {
                    pools::set_strategy(&*store, &slug, &strategy).await
                }
                PoolsCommand::List { all, json } => pools::list(&*store, all, json).await,
                PoolsCommand::Disable { slug, json } => {
                    pool_lifecycle::set_status(&*store, &slug, PoolStatus::Disabled, json).await
                }
                PoolsCommand::Enable { slug, json } => {
                    pool_lifecycle::set_status(&*store, &slug, PoolStatus::Active, json).await
                }
                PoolsCommand::Archive { slug, json } => {
                    pool_lifecycle::set_status(&*store, &slug, PoolStatus::Archived, json).await
                }
                PoolsCommand::SetWaits {
                    slug,
                    busy_wait_secs,
                    pin_wait_secs,
                    json,
                } => {
                    pool_lifecycle::set_waits(&*store, &slug, busy_wait_secs, pin_wait_secs, json)
                        .await
                }
            }
        }
        Command::Upstreams { command } => {
            let store = settings.open_store().await?;
            match command {
                UpstreamsCommand::Import {
                    pool,
                    auth_json,
                    base_url,
                    label,
                } => {
                    let sealer = settings.sealer()?;
                    upstreams::import(
                        &*store,
                        &sealer,
                        upstreams::ImportOptions {
                            pool: &pool,
                            auth_json: &auth_json,
                            base_url: base_url.as_deref(),
                            label: label.as_deref(),
                        },
                    )
                    .await
                    .map(drop)
                }
                UpstreamsCommand::Login {
                    pool,
                    label,
                    issuer,
                    base_url,
                } => {
                    let sealer = settings.sealer()?;
                    login::login(
                        &*store,
                        &sealer,
                        login::LoginOptions {
                            pool: &pool,
                            label: label.as_deref(),
                            issuer: &issuer,
                            base_url: base_url.as_deref(),
                        },
                    )
                    .await
                    .map(drop)
                }
                UpstreamsCommand::List { all, json } => {
                    let (_, hasher) = settings.crypto(&store).await?;
                    upstreams::list(&*store, &hasher.account_handles(), all, json).await
                }
                UpstreamsCommand::Remove { id, json } => {
                    upstream_changes::remove(&*store, id, json).await
                }
                UpstreamsCommand::Assign { id, pool, json } => {
                    upstream_changes::assign(&*store, id, &pool, json).await
                }
                UpstreamsCommand::Unassign { id, pool, json } => {
                    upstream_changes::unassign(&*store, id, &pool, json).await
                }
                UpstreamsCommand::Pause { id } => {
                    upstreams::set_lifecycle(&*store, id, Lifecycle::Paused).await
                }
                UpstreamsCommand::Resume { id } => {
                    upstreams::set_lifecycle(&*store, id, Lifecycle::Active).await
                }
                // Quota evidence.
                UpstreamsCommand::Quota { pool, id, json } => {
                    quota::show(&*store, pool.as_deref(), id, json).await
                }
                UpstreamsCommand::Explain {
                    id,
                    pool,
                    model,
                    json,
                } => quota::explain(&*store, id, &pool, &model, json).await,
            }
        }
        Command::Keys { command } => {
            let store: Arc<dyn PoolStore> = settings.open_store().await?;
            match command {
                KeysCommand::Create {
                    pool,
                    name,
                    expires_in_days,
                    auth_json,
                    policy,
                } => {
                    let hasher = settings.secret_keys()?.current_hasher();
                    let new = keys::KeySpec {
                        pool: &pool,
                        name: &name,
                        expires_in_days,
                        policy: policy.into_policy(),
                    };
                    keys::create(&*store, &hasher, new, auth_json.as_deref()).await
                }
                KeysCommand::List { json } => keys::list(&*store, json).await,
                KeysCommand::SetPolicy { key, policy } => {
                    keys::set_policy(&*store, &key, policy.into_policy()).await
                }
                KeysCommand::Pause { key } => {
                    keys::set_status(&*store, &key, KeyStatus::Paused).await
                }
                KeysCommand::Resume { key } => {
                    keys::set_status(&*store, &key, KeyStatus::Active).await
                }
                KeysCommand::Revoke { key } => {
                    keys::set_status(&*store, &key, KeyStatus::Revoked).await
                }
                KeysCommand::Rotate { key, grace_secs } => {
                    let hasher = settings.secret_keys()?.current_hasher();
                    keys::rotate(&*store, &hasher, &key, grace_secs).await
                }
            }
        }
        Command::Openapi => {
            let spec = codex_pooler_server::admin::openapi_json()
                .map_err(|e| ServerError::Usage(format!("cannot render the spec: {e}")))?;
            println!("{spec}");
            Ok(())
        }
        Command::Operators { command } => {
            let store = settings.open_store().await?;
            run_operators(command, &settings, &store).await
        }
        Command::Records { command } => {
            let store = settings.open_store().await?;
            match command {
                RecordsCommand::List(args) => records::list(&store, &args).await,
            }
        }
        Command::Usage(args) => {
            let store = settings.open_store().await?;
            usage::show(&store, &args).await
        }
        Command::Secrets { command } => {
            let store = settings.open_store().await?;
            match command {
                SecretsCommand::Rotate { json } => secrets::rotate(&settings, &store, json).await,
                SecretsCommand::Status { json } => secrets::status(&settings, &store, json).await,
            }
        }
    }
}

async fn run_operators(
    command: OperatorsCommand,
    settings: &Settings,
    store: &codex_pooler_server::store::SqlStore,
) -> Result<(), ServerError> {
    match command {
        OperatorsCommand::CreateOwner {
            name,
            token_expires_in_days,
        } => {
            let (_, hasher) = settings.crypto(store).await?;
            operators::create(
                store,
                &hasher,
                &name,
                Role::Owner,
                &[],
                token_expires_in_days,
            )
            .await
        }
        OperatorsCommand::CreateAdmin {
            name,
            pools,
            token_expires_in_days,
        } => {
            let (_, hasher) = settings.crypto(store).await?;
            operators::create(
                store,
                &hasher,
                &name,
                Role::Admin,
                &pools,
                token_expires_in_days,
            )
            .await
        }
        OperatorsCommand::List { json } => operators::list(store, json).await,
        OperatorsCommand::SetPools { name, pools } => {
            operators::set_pools(store, &name, &pools).await
        }
        OperatorsCommand::Disable { name } => {
            operators::set_status(store, &name, OperatorStatus::Disabled).await
        }
        OperatorsCommand::Enable { name } => {
            operators::set_status(store, &name, OperatorStatus::Active).await
        }
        OperatorsCommand::Tokens { command } => match command {
            TokensCommand::Create {
                operator,
                kind,
                label,
                expires_in_days,
            } => {
                let (_, hasher) = settings.crypto(store).await?;
                let kind = if kind == "mcp" {
                    TokenKind::Mcp
                } else {
                    TokenKind::Api
                };
                operators::create_token(store, &hasher, &operator, kind, &label, expires_in_days)
                    .await
            }
            TokensCommand::List { operator, json } => {
                operators::list_tokens(store, &operator, json).await
            }
            TokensCommand::Revoke { operator, token } => {
                operators::revoke_token(store, &operator, &token).await
            }
        },
    }
}

//! The command line: `codex-pooler <command>`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use codex_pooler_core::model::{EffortRule, KeyLimits, KeyPolicy, ReasoningEffort};

/// codex-pooler: share many OpenAI Codex accounts behind stable Pool API keys.
#[derive(Debug, Parser)]
#[command(name = "codex-pooler", version, about)]
pub struct Cli {
    /// Settings every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on bad ones), and returns
    /// beside them the store settings given as flags on the command line, without those that
    /// came from the environment: `serve --demo` never uses a store the environment names.
    pub fn parse_with_flags() -> (Self, GlobalArgs) {
        let matches = Self::command().get_matches();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
        let flags = GlobalArgs {
            data_dir: cli
                .global
                .data_dir
                .clone()
                .filter(|_| given_as_flag(&matches, "data_dir")),
            database_url: cli
                .global
                .database_url
                .clone()
                .filter(|_| given_as_flag(&matches, "database_url")),
        };
        (cli, flags)
    }
}

/// Whether the argument `id` was written on the command line, before or after a subcommand
/// (global arguments are parsed into the matches of the command they follow).
fn given_as_flag(matches: &ArgMatches, id: &str) -> bool {
    let mut current = Some(matches);
    while let Some(m) = current {
        if m.value_source(id) == Some(ValueSource::CommandLine) {
            return true;
        }
        current = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

/// Settings every command shares.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Where the embedded database and the generated secret key live
    /// [default: $XDG_DATA_HOME/codex-pooler or ~/.local/share/codex-pooler].
    #[arg(long, env = "CODEX_POOLER_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://...` [default: SQLite in the data directory].
    #[arg(long, env = "CODEX_POOLER_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Manage pools.
    Pools {
        /// The pool command.
        #[command(subcommand)]
        command: PoolsCommand,
    },
    /// Manage upstream Codex accounts.
    Upstreams {
        /// The upstream command.
        #[command(subcommand)]
        command: UpstreamsCommand,
    },
    /// Manage Pool API keys.
    Keys {
        /// The key command.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage operators (an owner and pool-scoped admins) and their API and MCP tokens.
    Operators {
        /// The operator command.
        #[command(subcommand)]
        command: OperatorsCommand,
    },
    /// Read request records (metadata only), newest first.
    Records {
        /// The records command.
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Show requests, errors and tokens per day, with a total (kept beyond record retention).
    Usage(UsageArgs),
    /// Rotate the secret key and see which key versions stored values use.
    Secrets {
        /// The secrets command.
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print the operator REST API's OpenAPI document (what `/openapi.json` serves), to generate
    /// clients without a running server.
    Openapi,
    /// Run only the simulated Codex backend (for benchmarks and experiments).
    #[command(hide = true)]
    FakeUpstream {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4100")]
        listen: SocketAddr,
        /// Number of simulated accounts (`acct-1` .. `acct-N`, tokens `token-1` ..).
        #[arg(long, default_value_t = 3)]
        accounts: usize,
        /// Simulate the accounts of these Codex `auth.json` files instead (their account ids
        /// and access tokens), so the same files can be imported into a pool.
        #[arg(long = "auth-json")]
        auth_json: Vec<PathBuf>,
    },
}

/// `codex-pooler serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CODEX_POOLER_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs `--tls-key`.
    #[arg(
        long,
        env = "CODEX_POOLER_TLS_CERT",
        value_name = "PATH",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(
        long,
        env = "CODEX_POOLER_TLS_KEY",
        value_name = "PATH",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve `GET /metrics` only to `Authorization: Bearer <token>`, the token being this
    /// file's content (the environment variable `CODEX_POOLER_METRICS_TOKEN` is the other way
    /// to give it; the file wins).
    #[arg(long, value_name = "PATH")]
    pub metrics_token_file: Option<PathBuf>,
    /// Do not serve `GET /metrics` (it answers 404).
    #[arg(long, conflicts_with = "metrics_token_file")]
    pub no_metrics: bool,
    /// Start a simulated Codex backend with three accounts in a `demo` pool and print a key.
    /// The demo keeps its data in a throwaway directory removed when it stops; with
    /// `--data-dir` or `--database-url` on the command line it uses that store instead, and
    /// refuses one that holds accounts other than the demo's.
    #[arg(long)]
    pub demo: bool,
    /// Serve the read-only operator MCP endpoint at `/mcp` (operator MCP tokens only). Off,
    /// `/mcp` answers 404.
    #[arg(long, env = "CODEX_POOLER_MCP")]
    pub mcp: bool,
    /// A `Host` (`name` or `name:port`) `/mcp` accepts beside the loopback names (repeatable).
    #[arg(
        long = "mcp-allowed-host",
        env = "CODEX_POOLER_MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub mcp_allowed_hosts: Vec<String>,
    /// Origin for upstream accounts without their own base URL.
    #[arg(
        long,
        env = "CODEX_POOLER_UPSTREAM_BASE_URL",
        default_value = codex_pooler_tower::upstream::DEFAULT_UPSTREAM_BASE_URL
    )]
    pub upstream_base_url: String,
    /// A host `/v1/files` may PUT upload bytes to besides each account's base URL host and
    /// Azure Blob Storage over https (repeatable; `*.example.net` matches its subdomains).
    #[arg(
        long = "trusted-upload-host",
        env = "CODEX_POOLER_TRUSTED_UPLOAD_HOSTS",
        value_delimiter = ','
    )]
    pub trusted_upload_hosts: Vec<String>,
    /// How often to check the store for configuration changes, in milliseconds.
    #[arg(long, env = "CODEX_POOLER_RELOAD_INTERVAL_MS", default_value_t = 1000)]
    pub reload_interval_ms: u64,
    /// Close a responses websocket after this many seconds without a frame.
    #[arg(long, env = "CODEX_POOLER_WEBSOCKET_IDLE_SECS", default_value_t = 300)]
    pub websocket_idle_secs: u64,
    /// Move a responses websocket to a fresh upstream socket (same account) between turns once
    /// its upstream socket is this many seconds old; the Codex backend ends sockets at 60
    /// minutes.
    #[arg(
        long,
        env = "CODEX_POOLER_WEBSOCKET_UPSTREAM_LIFETIME_SECS",
        default_value_t = 3300
    )]
    pub websocket_upstream_lifetime_secs: u64,
    /// How often to read each account's quota from upstream `wham/usage`, in seconds (0: never).
    #[arg(
        long,
        env = "CODEX_POOLER_USAGE_PROBE_INTERVAL_SECS",
        default_value_t = 300
    )]
    pub usage_probe_interval_secs: u64,
    /// How long a request waits, in all, for accounts upstream refused for concurrency
    /// (code-less 429s while the account's other streams run) before the refusal is handed on,
    /// in seconds (0: never wait).
    #[arg(long, env = "CODEX_POOLER_BUSY_WAIT_SECS", default_value_t = 60)]
    pub busy_wait_secs: u64,
    /// How long a thread pinned to an account (session id, prompt_cache_key, derived key)
    /// waits for that account alone after a concurrency refusal before moving to another, in
    /// seconds (0: move at once). At most --busy-wait-secs.
    #[arg(long, env = "CODEX_POOLER_PIN_WAIT_SECS", default_value_t = 45)]
    pub pin_wait_secs: u64,
    /// OAuth token endpoint for refreshing upstream access tokens.
    #[arg(
        long,
        env = "CODEX_POOLER_TOKEN_ENDPOINT",
        default_value = codex_pooler_tower::refresh::DEFAULT_TOKEN_ENDPOINT
    )]
    pub token_endpoint: String,
    /// Refresh an access token this many seconds before its expiry.
    #[arg(
        long,
        env = "CODEX_POOLER_TOKEN_REFRESH_MARGIN_SECS",
        default_value_t = 300
    )]
    pub token_refresh_margin_secs: u64,
    /// How often the background token refresher checks every account, in milliseconds.
    #[arg(
        long,
        env = "CODEX_POOLER_TOKEN_REFRESH_CHECK_MS",
        default_value_t = 30_000
    )]
    pub token_refresh_check_ms: u64,
    /// First retry delay after a failed token refresh, in milliseconds (doubles per failure,
    /// up to 32 times).
    #[arg(
        long,
        env = "CODEX_POOLER_TOKEN_REFRESH_BACKOFF_MS",
        default_value_t = 10_000
    )]
    pub token_refresh_backoff_ms: u64,
    /// Delete request records older than this many days, at start and then hourly (0: keep
    /// them forever). Daily usage rollups are kept either way.
    #[arg(long, env = "CODEX_POOLER_RECORD_RETENTION_DAYS", default_value_t = 30)]
    pub record_retention_days: u64,
    /// Delete audit events older than this many days, at start and then hourly (0: keep them
    /// forever).
    #[arg(long, env = "CODEX_POOLER_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    pub audit_retention_days: u64,
    /// The OAuth issuer device-code logins started through the operator API go to.
    #[arg(
        long,
        env = "CODEX_POOLER_LOGIN_ISSUER",
        default_value = codex_pooler_tower::refresh::DEFAULT_ISSUER
    )]
    pub login_issuer: String,
}

/// `codex-pooler operators ...`.
#[derive(Debug, Subcommand)]
pub enum OperatorsCommand {
    /// Create an owner (who may do everything) with an operator API token; the token is printed
    /// once, as the last line of output.
    CreateOwner {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// Expire the token after this many days.
        #[arg(long, value_name = "DAYS")]
        token_expires_in_days: Option<u64>,
    },
    /// Create an admin scoped to some pools, with an operator API token; the token is printed
    /// once, as the last line of output.
    CreateAdmin {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// A pool the admin may see and change (repeatable).
        #[arg(long = "pool", value_name = "SLUG", required = true)]
        pools: Vec<String>,
        /// Expire the token after this many days.
        #[arg(long, value_name = "DAYS")]
        token_expires_in_days: Option<u64>,
    },
    /// List operators.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace the pools an admin may see and change.
    SetPools {
        /// The operator's name.
        name: String,
        /// A pool (repeatable).
        #[arg(long = "pool", value_name = "SLUG", required = true)]
        pools: Vec<String>,
    },
    /// Disable an operator: every token of theirs is refused.
    Disable {
        /// The operator's name.
        name: String,
    },
    /// Enable a disabled operator.
    Enable {
        /// The operator's name.
        name: String,
    },
    /// Manage an operator's tokens.
    Tokens {
        /// The token command.
        #[command(subcommand)]
        command: TokensCommand,
    },
}

/// `codex-pooler operators tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token; it is printed once, as the last line of output.
    Create {
        /// The operator's name.
        #[arg(long)]
        operator: String,
        /// `api` (the REST API) or `mcp` (`/mcp`).
        #[arg(long, default_value = "api", value_parser = ["api", "mcp"])]
        kind: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Expire the token after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u64>,
    },
    /// List an operator's tokens (prefixes only).
    List {
        /// The operator's name.
        #[arg(long)]
        operator: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke {
        /// The operator's name.
        #[arg(long)]
        operator: String,
        /// The token's id or prefix.
        token: String,
    },
}

/// `codex-pooler pools ...`.
#[derive(Debug, Subcommand)]
pub enum PoolsCommand {
    /// Create a pool.
    Create {
        /// The pool's slug (lowercase letters, digits, '-').
        slug: String,
        /// Its routing strategy: reset_aware (default), rendezvous, rotation,
        /// least_recent_success or headroom_first.
        #[arg(long)]
        strategy: Option<String>,
        /// Whether the pool's keys may use the OpenAI-compatible `/v1` surface (default on).
        #[arg(long, value_name = "on|off", value_parser = on_off, action = clap::ArgAction::Set)]
        v1: Option<bool>,
    },
    /// Choose a pool's routing strategy (`default` for the gateway's default).
    SetStrategy {
        /// The pool's slug.
        slug: String,
        /// reset_aware, rendezvous, rotation, least_recent_success, headroom_first or default.
        strategy: String,
    },
    /// Turn a pool's OpenAI-compatible `/v1` surface on or off (off: its keys' `/v1` requests
    /// answer 403 `v1_compatibility_disabled`).
    SetV1 {
        /// The pool's slug.
        slug: String,
        /// `on` or `off`.
        #[arg(value_name = "on|off", value_parser = on_off, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// List pools (archived ones only with `--all`).
    List {
        /// Also list archived pools.
        #[arg(long)]
        all: bool,
        /// Print the pools as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable a pool: its keys get 403 `pool_disabled` until it is enabled again.
    Disable {
        /// The pool's slug.
        slug: String,
        /// Print the pool as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled pool (an archived pool cannot be enabled again).
    Enable {
        /// The pool's slug.
        slug: String,
        /// Print the pool as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Archive a pool for good: it serves nothing (its keys get 403 `pool_disabled`), is
    /// hidden from `pools list` unless `--all`, and is never enabled again.
    Archive {
        /// The pool's slug.
        slug: String,
        /// Print the pool as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a pool's own waits for busy accounts, in place of `serve --busy-wait-secs` and
    /// `--pin-wait-secs` (`default` goes back to the gateway's; a wait not given is kept).
    SetWaits {
        /// The pool's slug.
        slug: String,
        /// How long the pool's requests wait, in all, for accounts upstream refused for
        /// concurrency, in seconds (0: never wait), or `default`.
        #[arg(long, value_name = "SECS|default", value_parser = wait_setting)]
        busy_wait_secs: Option<WaitSetting>,
        /// How long a pinned thread of the pool waits for its own account, in seconds (0:
        /// move at once), or `default`. At most the busy wait.
        #[arg(long, value_name = "SECS|default", value_parser = wait_setting)]
        pin_wait_secs: Option<WaitSetting>,
        /// Print the pool as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A wait as `pools set-waits` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitSetting {
    /// The gateway's own wait.
    Default,
    /// This many seconds.
    Secs(u64),
}

/// Reads a wait: a number of seconds or `default`.
fn wait_setting(value: &str) -> Result<WaitSetting, String> {
    if value == "default" {
        return Ok(WaitSetting::Default);
    }
    value
        .parse()
        .map(WaitSetting::Secs)
        .map_err(|_| format!("expected a number of seconds or default, not {value:?}"))
}

/// Reads an `on`/`off` switch.
fn on_off(value: &str) -> Result<bool, String> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("expected on or off, not {other:?}")),
    }
}

/// `codex-pooler upstreams ...`.
#[derive(Debug, Subcommand)]
pub enum UpstreamsCommand {
    /// Import a Codex CLI `auth.json` (ChatGPT login) as an upstream account of a pool.
    Import {
        /// The pool to add the account to.
        #[arg(long)]
        pool: String,
        /// Path to the `auth.json` file.
        #[arg(long)]
        auth_json: PathBuf,
        /// Upstream origin for this account (default: the server's upstream base URL).
        #[arg(long)]
        base_url: Option<String>,
        /// A label for operators (default: the account email or id).
        #[arg(long)]
        label: Option<String>,
    },
    /// Log a ChatGPT account in with the device-code flow and add it to a pool (or give an
    /// existing account new tokens, e.g. after `reauth_required`).
    Login {
        /// The pool to add the account to.
        #[arg(long)]
        pool: String,
        /// A label for operators (default: the account email or id).
        #[arg(long)]
        label: Option<String>,
        /// The OAuth issuer.
        #[arg(long, default_value = codex_pooler_tower::refresh::DEFAULT_ISSUER)]
        issuer: String,
        /// Upstream origin for this account (default: the server's upstream base URL).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// List upstream accounts (removed ones only with `--all`).
    List {
        /// Also list removed accounts.
        #[arg(long)]
        all: bool,
        /// Print the accounts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account for good: its sealed tokens are deleted and it leaves every pool.
    /// Its row stays (as `removed`) so request records still name it; requests it is serving
    /// finish.
    Remove {
        /// The account id (see `upstreams list`).
        id: i64,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an account to a pool (it may serve several).
    Assign {
        /// The account id.
        id: i64,
        /// The pool's slug.
        #[arg(long)]
        pool: String,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take an account out of a pool.
    Unassign {
        /// The account id.
        id: i64,
        /// The pool's slug.
        #[arg(long)]
        pool: String,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause an account: it stops receiving traffic.
    Pause {
        /// The account id (see `upstreams list`).
        id: i64,
    },
    /// Resume a paused account.
    Resume {
        /// The account id.
        id: i64,
    },
    // Quota evidence.
    /// Show each account's quota evidence as running gateways last wrote it (every few
    /// seconds): per window the used percent, reset, source and age; accounts with none say so.
    Quota {
        /// Only the accounts of this pool.
        #[arg(long)]
        pool: Option<String>,
        /// Only this account (see `upstreams list`).
        id: Option<i64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Say whether an account is routable in a pool now and every reason it is not, by the
    /// planner's own checks over the stored configuration and quota evidence (circuit state
    /// lives in each gateway: ask a running one with `GET /admin/api/v1/pools/{pool}/accounts/
    /// {id}/routability`).
    Explain {
        /// The account (see `upstreams list`).
        id: i64,
        /// The pool.
        #[arg(long)]
        pool: String,
        /// The model of the request to explain.
        #[arg(long, default_value = "gpt-5.1-codex")]
        model: String,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `codex-pooler keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a Pool API key; the key is printed once, as the last line of output.
    Create {
        /// The pool the key draws from.
        #[arg(long)]
        pool: String,
        /// A name for operators.
        #[arg(long, default_value = "default")]
        name: String,
        /// Expire the key after this many days.
        #[arg(long)]
        expires_in_days: Option<u64>,
        /// Also write a Codex CLI `auth.json` carrying the key to this new file, for clients
        /// in the ChatGPT-auth shape (`chatgpt_base_url` on an HTTPS gateway).
        #[arg(long, value_name = "PATH")]
        auth_json: Option<PathBuf>,
        /// The key's model, effort and limit rules.
        #[command(flatten)]
        policy: KeyPolicyArgs,
    },
    /// List keys (prefixes only; keys are never shown again) with their policies.
    List {
        /// Print the keys as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a key's whole policy with the rules given (none given: no rules). Running
    /// gateways apply it at their next configuration reload.
    SetPolicy {
        /// The key's prefix or id.
        key: String,
        /// The new rules.
        #[command(flatten)]
        policy: KeyPolicyArgs,
    },
    /// Pause a key: requests with it get 401 `api_key_paused` until resumed.
    Pause {
        /// The key's prefix or id.
        key: String,
    },
    /// Resume a paused key.
    Resume {
        /// The key's prefix or id.
        key: String,
    },
    /// Revoke a key for good.
    Revoke {
        /// The key's prefix or id.
        key: String,
    },
    /// Give a key a new secret, printed once as the last line of output. The key keeps its
    /// id, prefix, policy and usage; the old secret keeps working for the grace period, then
    /// gets 401 `invalid_api_key`.
    Rotate {
        /// The key's prefix or id.
        key: String,
        /// How long the old secret keeps working, in seconds (0: refused at once).
        #[arg(long, value_name = "N", default_value_t = 0)]
        grace_secs: u64,
    },
}

/// A key's rules, as `keys create` and `keys set-policy` take them.
#[derive(Debug, Clone, Default, Args)]
pub struct KeyPolicyArgs {
    /// Allow only this model (repeat for several); without it every model of the pool is
    /// allowed. Others are refused with 403 `model_not_allowed`.
    #[arg(long = "allow-model", value_name = "MODEL")]
    pub allow_models: Vec<String>,
    /// Send every request with this model, whatever the client names.
    #[arg(long, value_name = "MODEL")]
    pub enforce_model: Option<String>,
    /// Send every request with this reasoning effort (none, minimal, low, medium, high,
    /// xhigh).
    #[arg(long, value_name = "EFFORT", conflicts_with = "max_reasoning_effort")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Lower a higher reasoning effort to this one; a request naming none counts as medium.
    #[arg(long, value_name = "EFFORT")]
    pub max_reasoning_effort: Option<ReasoningEffort>,
    /// Admit at most this many requests in any 60 seconds (429 `rate_limit_exceeded`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub requests_per_minute: Option<u32>,
    /// Admit requests only while the key used fewer tokens in the last 24 hours.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens_per_day: Option<u64>,
    /// Admit requests only while the key used fewer tokens in the last 7 days.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens_per_week: Option<u64>,
    /// Refuse a request whose estimated input (body bytes / 4) is larger.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_input_tokens: Option<u64>,
}

impl KeyPolicyArgs {
    /// The policy these flags describe.
    pub fn into_policy(self) -> KeyPolicy {
        let reasoning = match (self.reasoning_effort, self.max_reasoning_effort) {
            (Some(effort), _) => Some(EffortRule::Enforce(effort)),
            (None, Some(cap)) => Some(EffortRule::AtMost(cap)),
            (None, None) => None,
        };
        KeyPolicy {
            allowed_models: self.allow_models,
            enforced_model: self.enforce_model,
            reasoning,
            limits: KeyLimits {
                requests_per_minute: self.requests_per_minute,
                tokens_per_day: self.tokens_per_day,
                tokens_per_week: self.tokens_per_week,
                input_tokens_per_request: self.max_input_tokens,
            },
        }
    }
}

/// `codex-pooler secrets ...`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Seal every stored secret under the current key. With the embedded `secret.key`, first
    /// add a new key version to it, and afterwards remove the old versions; with keys from the
    /// environment, seal under CODEX_POOLER_SECRET_KEY, after which the old keys can be removed
    /// from CODEX_POOLER_PREVIOUS_SECRET_KEYS. Stop the gateway first when it uses secret.key.
    Rotate {
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the key versions in use and which previous keys can be removed (never keys).
    Status {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `codex-pooler records ...`.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// List request records, newest first; with more pages, the next `--cursor` is printed on
    /// stderr (or in the JSON).
    List(RecordsListArgs),
}

/// `codex-pooler records list`.
#[derive(Debug, Clone, Default, Args)]
pub struct RecordsListArgs {
    /// Only this pool's records (its slug).
    #[arg(long, value_name = "SLUG")]
    pub pool: Option<String>,
    /// Only this key's records (its prefix or id).
    #[arg(long, value_name = "PREFIX_OR_ID")]
    pub key: Option<String>,
    /// Only records served by this upstream account (see `upstreams list`).
    #[arg(long, value_name = "ID")]
    pub account: Option<i64>,
    /// Only records of this requested model.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only this HTTP status (429) or status class (4xx).
    #[arg(long, value_name = "429|4xx")]
    pub status: Option<String>,
    /// Only this route class (responses, responses_websocket, compact, models, ...).
    #[arg(long, value_name = "CLASS")]
    pub route: Option<String>,
    /// Only requests that arrived at or after this time (RFC 3339, 2026-12-03T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only requests that arrived before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
    /// Records per page (1 to 500) [default: 50].
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Continue after the page that printed this cursor.
    #[arg(long, value_name = "C")]
    pub cursor: Option<String>,
    /// Print the page as JSON: `{"records": [...], "next_cursor": ...}`.
    #[arg(long)]
    pub json: bool,
}

/// `codex-pooler usage`.
#[derive(Debug, Clone, Args)]
pub struct UsageArgs {
    /// One row per day for this pool (its slug) [default: one row per pool per day].
    #[arg(long, value_name = "SLUG", conflicts_with = "key")]
    pub pool: Option<String>,
    /// One row per day for this key (its prefix or id).
    #[arg(long, value_name = "PREFIX_OR_ID")]
    pub key: Option<String>,
    /// How many UTC days, ending today (1 to 366).
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub days: u32,
    /// Print the report as JSON: `{"from", "to", "grouping", "rows": [...], "total": {...}}`.
    #[arg(long)]
    pub json: bool,
}

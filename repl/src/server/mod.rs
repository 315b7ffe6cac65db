//! `isodb serve`: the database over PostgreSQL's wire protocol (protocol
//! 3.0 and 3.2, through the `pgwire` crate's message codec, TLS
//! negotiation and SCRAM-SHA-256), so psql, pgbench and every PostgreSQL
//! driver can connect.
//!
//! ```text
//!   main thread: accept loop (tokio)            one thread per connection
//!   ─────────────────────────────────           ──────────────────────────────────────
//!   TcpListener::accept ─── spawn ────────────► its own current-thread runtime:
//!   Ctrl-C / SIGTERM:                            startup (TLS, auth)   startup.rs
//!     stop accepting, tell every                 message loop          connection.rs
//!     connection (watch channel), cancel           Query              simple.rs
//!     running statements, wait, close db           Parse/Bind/...     extended.rs
//!                                                one isodb::Session, run inline: a lock
//!   CancelKeys: (pid, secret) → CancelHandle     wait blocks this thread only
//! ```
//!
//! A connection is a [`isodb::Session`]; its thread runs statements
//! directly (as PostgreSQL's backend process does), so nothing is handed
//! between threads per statement. A CancelRequest (a connection of its own)
//! finds the session's [`isodb::CancelHandle`] by the BackendKeyData it was
//! given. When a client disconnects, its session is dropped: its open
//! transaction rolls back and its locks go at once.
//!
//! Values on the wire: [`types`]; errors: [`errors`].

mod connection;
mod errors;
mod extended;
mod simple;
mod startup;
mod tls;
mod types;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use isodb::{CancelHandle, Database};
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::messages::ProtocolVersion;
use pgwire::messages::startup::SecretKey;
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;
use tokio_util::codec::Framed;

pub use tls::TlsFiles;

/// A client connection after TLS negotiation.
pub type Socket = Framed<MaybeTls, PgWireMessageServerCodec<()>>;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen (loopback by default).
    pub listen: SocketAddr,
    /// Connections served at once; more are refused with 53300.
    pub max_connections: usize,
    /// User name → password for SCRAM-SHA-256; `None`: trust loopback clients.
    pub passwords: Option<Passwords>,
    /// Certificate and key for TLS, when given.
    pub tls: Option<TlsFiles>,
}

/// The passwords clients authenticate with.
#[derive(Debug, Clone)]
pub enum Passwords {
    /// One password, whatever the user name.
    Any(String),
    /// A password per user (`--password-file` lines `user:password`).
    PerUser(HashMap<String, String>),
}

impl Passwords {
    /// Reads a password file: `user:password` lines (`#` comments, blank lines).
    pub fn from_file(path: &PathBuf) -> Result<Passwords, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut users = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, password) = line.split_once(':').ok_or_else(|| {
                format!("{}:{}: expected user:password", path.display(), number + 1)
            })?;
            users.insert(user.to_string(), password.to_string());
        }
        if users.is_empty() {
            return Err(format!("{} names no user", path.display()));
        }
        Ok(Passwords::PerUser(users))
    }

    /// The password of `user`, if it may log in.
    pub fn of(&self, user: &str) -> Option<&str> {
        match self {
            Passwords::Any(password) => Some(password),
            Passwords::PerUser(users) => users.get(user).map(String::as_str),
        }
    }
}

/// The backend keys of running sessions, for CancelRequest.
type CancelKeys = HashMap<(i32, Bytes), CancelHandle>;

/// What every connection shares.
pub struct Shared {
    db: Database,
    options: ServerOptions,
    scram: Option<ScramAuth>,
    tls: Option<TlsAcceptor>,
    cancel_keys: Mutex<CancelKeys>,
    active: AtomicUsize,
    random: SystemRandom,
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    fn keys(&self) -> MutexGuard<'_, CancelKeys> {
        self.cancel_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The backend key of a session: its backend pid (what
    /// `pg_backend_pid()` answers) and a fresh secret key.
    fn new_backend_key(&self, pid: i32, version: ProtocolVersion) -> (i32, SecretKey) {
        let mut random = [0u8; 32];
        // SystemRandom only fails when the OS has no randomness at all.
        let _ = self.random.fill(&mut random);
        (pid, startup::secret_key(version, &random))
    }

    /// Remembers a session's cancel handle under its backend key.
    fn register(&self, key: &(i32, SecretKey), handle: CancelHandle) {
        self.keys().insert((key.0, key.1.to_bytes()), handle);
    }

    /// Forgets a backend key.
    fn unregister(&self, key: &(i32, SecretKey)) {
        self.keys().remove(&(key.0, key.1.to_bytes()));
    }

    /// Cancels the running statement of the backend with this key (a
    /// CancelRequest with a wrong key does nothing, as in PostgreSQL).
    fn cancel(&self, pid: i32, secret: &SecretKey) {
        let handle = self.keys().get(&(pid, secret.to_bytes())).cloned();
        if let Some(handle) = handle {
            handle.cancel();
        }
    }
}

/// Ends a connection slot when dropped.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// Takes a connection slot, or `None` past the limit.
    fn take_slot(&self) -> Option<Slot<'_>> {
        let taken = self.active.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(&self.active);
        (taken < self.options.max_connections).then_some(slot)
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
}

/// The SCRAM authenticator for `passwords`.
fn scram(passwords: &Passwords) -> ScramAuth {
    ScramAuth::new(Arc::new(auth::PasswordSource::new(passwords.clone())))
}

mod auth {
    //! SCRAM's password source: salted passwords computed once per user.

    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, gen_salted_password};
    use pgwire::api::auth::{AuthSource, LoginInfo, Password};
    use pgwire::error::{PgWireError, PgWireResult};
    use ring::rand::{SecureRandom, SystemRandom};

    use super::Passwords;

    /// A user's (salt, salted password).
    type Salted = (Vec<u8>, Vec<u8>);

    /// Answers SCRAM with each user's salted password.
    #[derive(Debug)]
    pub struct PasswordSource {
        passwords: Passwords,
        salted: Mutex<HashMap<String, Salted>>,
    }

    impl PasswordSource {
        pub fn new(passwords: Passwords) -> PasswordSource {
            PasswordSource {
                passwords,
                salted: Mutex::new(HashMap::new()),
            }
        }
    }

    #[async_trait]
    impl AuthSource for PasswordSource {
        async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
            let user = login.user().unwrap_or_default();
            let password = self
                .passwords
                .of(user)
                .ok_or_else(|| PgWireError::InvalidPassword(user.to_string()))?;
            let mut salted = self
                .salted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (salt, hash) = salted.entry(user.to_string()).or_insert_with(|| {
                let mut salt = vec![0u8; 16];
                let _ = SystemRandom::new().fill(&mut salt);
                let hash = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
                (salt, hash)
            });
            Ok(Password::new(Some(salt.clone()), hash.clone()))
        }
    }
}

/// A running server (the accept loop is [`serve`]).
pub struct Server {
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: watch::Sender<bool>,
}

impl Server {
    /// Binds the listening socket (inside `runtime`).
    pub fn bind(
        db: Database,
        options: ServerOptions,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<Server, ServeError> {
        let tls = match &options.tls {
            Some(files) => Some(files.acceptor().map_err(ServeError::Tls)?),
            None => None,
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(options.listen))
            .map_err(|e| ServeError::Bind(options.listen, e))?;
        let (shutdown, watcher) = watch::channel(false);
        let scram = options.passwords.as_ref().map(scram);
        let shared = Arc::new(Shared {
            db,
            options,
            scram,
            tls,
            cancel_keys: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            random: SystemRandom::new(),
            shutdown: watcher,
        });
        Ok(Server {
            shared,
            listener,
            shutdown,
        })
    }

    /// The address it listens on (the port, when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// How long shutdown waits for connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Accepts connections until Ctrl-C or SIGTERM, then shuts down cleanly:
/// no new connections, every session told (FATAL 57P01) and its
/// transaction rolled back, running statements canceled, the database
/// closed when the last connection is gone.
pub fn serve(server: Server, runtime: &tokio::runtime::Runtime) {
    let Server {
        shared,
        listener,
        shutdown,
    } = server;
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    runtime.block_on(async {
        let mut terminate = terminate_signal();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let Ok(stream) = stream.into_std() else { continue };
                    let shared = Arc::clone(&shared);
                    threads.retain(|t| !t.is_finished());
                    let spawned = std::thread::Builder::new()
                        .name("isodb-conn".into())
                        .spawn(move || connection::run(stream, shared));
                    if let Ok(thread) = spawned {
                        threads.push(thread);
                    }
                }
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
            }
        }
    });
    drop(listener);
    eprintln!("isodb: shutting down");
    let _ = shutdown.send(true);
    let handles: Vec<CancelHandle> = shared.keys().values().cloned().collect();
    for handle in handles {
        handle.cancel();
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for thread in threads.into_iter().filter(JoinHandle::is_finished) {
        let _ = thread.join();
    }
    // The last handle on the database: dropping it closes the engine.
    drop(shared);
}

/// SIGTERM as a stream of notifications (never fires where it cannot be installed).
fn terminate_signal() -> TerminateSignal {
    TerminateSignal(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok())
}

struct TerminateSignal(Option<tokio::signal::unix::Signal>);

impl TerminateSignal {
    async fn recv(&mut self) {
        match &mut self.0 {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

//! [`ConnectOptions`]: where `--connect` points, from a libpq connection
//! URL (`postgres://user:password@host:port/database?options=...`) or
//! key-value string (`host=... port=... user=...`), parsed by
//! `tokio-postgres`'s `Config` so both spellings mean what they mean to
//! libpq. Missing parts default as libpq's do: host `localhost`, port
//! 5432, the user `$PGUSER` or `$USER`, the database named as the user.

use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};

/// A server to connect to, and as whom.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password, for servers that ask for one.
    pub password: Option<Vec<u8>>,
    /// Database name.
    pub database: String,
    /// Startup parameters besides user and database (`application_name`,
    /// `options`).
    pub parameters: Vec<(String, String)>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
}

impl ConnectOptions {
    /// Parses a connection URL or key-value string.
    pub fn parse(text: &str) -> Result<ConnectOptions, String> {
        let config = tokio_postgres::Config::from_str(text)
            .map_err(|e| format!("invalid connection string {text:?}: {e}"))?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(
                "sslmode=require: the shell's connections do not use TLS (use sslmode=disable or prefer)"
                    .to_string(),
            );
        }
        let host = match config.get_hosts().first() {
            None => "localhost".to_string(),
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => {
                return Err(format!(
                    "{}: the shell connects over TCP only, not to a Unix socket",
                    path.display()
                ));
            }
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = match config.get_user() {
            Some(user) => user.to_string(),
            None => std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "isodb".to_string()),
        };
        let database = config.get_dbname().unwrap_or(&user).to_string();
        let mut parameters = vec![(
            "application_name".to_string(),
            config
                .get_application_name()
                .unwrap_or("isodb shell")
                .to_string(),
        )];
        if let Some(options) = config.get_options() {
            parameters.push(("options".to_string(), options.to_string()));
        }
        let password = config
            .get_password()
            .map(<[u8]>::to_vec)
            .or_else(|| std::env::var("PGPASSWORD").ok().map(String::into_bytes));
        Ok(ConnectOptions {
            host,
            port,
            user,
            password,
            database,
            parameters,
            connect_timeout: config
                .get_connect_timeout()
                .copied()
                .unwrap_or(Duration::from_secs(10)),
        })
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The addresses the host resolves to.
    pub fn socket_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }

    /// `postgres://user@host:port/database` (never the password).
    pub fn display(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_key_value_strings_give_the_same_target() {
        let url = ConnectOptions::parse("postgres://ada:pw@127.0.0.1:5433/shop").expect("url");
        assert_eq!(
            (
                url.host.as_str(),
                url.port,
                url.user.as_str(),
                url.database.as_str()
            ),
            ("127.0.0.1", 5433, "ada", "shop")
        );
        assert_eq!(url.password.as_deref(), Some(&b"pw"[..]));
        assert_eq!(url.display(), "postgres://ada@127.0.0.1:5433/shop");
        let pairs = ConnectOptions::parse("host=127.0.0.1 port=5433 user=ada dbname=shop")
            .expect("key-value");
        assert_eq!(pairs.address(), url.address());
        assert_eq!(pairs.database, "shop");
        let bare = ConnectOptions::parse("postgres://ada@db").expect("defaults");
        assert_eq!((bare.port, bare.database.as_str()), (5432, "ada"));
    }

    #[test]
    fn tls_and_unix_sockets_are_refused_clearly() {
        let tls = ConnectOptions::parse("postgres://a@h/db?sslmode=require").unwrap_err();
        assert!(tls.contains("TLS"), "{tls}");
        let socket = ConnectOptions::parse("host=/var/run/postgresql user=a").unwrap_err();
        assert!(socket.contains("Unix socket"), "{socket}");
        assert!(ConnectOptions::parse("postgres://a@h:notaport/db").is_err());
    }
}

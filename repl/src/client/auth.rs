//! A connection's start, client side: the StartupMessage, whichever
//! authentication the server asks for (none, a cleartext password, MD5 or
//! SCRAM-SHA-256 without channel binding), then the server's parameters
//! and BackendKeyData up to the first ReadyForQuery.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{Client, ConnectOptions, failure_of};
use crate::reply::Failure;

fn protocol_error(what: impl std::fmt::Display) -> Failure {
    Failure::new("08P01", format!("authentication: {what}"))
}

fn needs_password(options: &ConnectOptions) -> Result<&[u8], Failure> {
    options.password.as_deref().ok_or_else(|| {
        Failure::new(
            "28P01",
            format!(
                "the server asks user \"{}\" for a password: give one in the URL or PGPASSWORD",
                options.user
            ),
        )
    })
}

/// Sends the startup packet and authenticates; on success the client is
/// at its first ReadyForQuery, with its cancel key.
pub(super) fn start(client: &mut Client, options: &ConnectOptions) -> Result<(), Failure> {
    let mut buffer = BytesMut::new();
    let mut parameters: Vec<(&str, &str)> = vec![
        ("user", options.user.as_str()),
        ("database", options.database.as_str()),
        ("client_encoding", "UTF8"),
    ];
    parameters.extend(
        options
            .parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    frontend::startup_message(parameters, &mut buffer).map_err(protocol_error)?;
    client.send(&buffer)?;
    let mut scram: Option<ScramSha256> = None;
    loop {
        let mut buffer = BytesMut::new();
        match client.receive()? {
            Message::AuthenticationOk => {}
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(needs_password(options)?, &mut buffer)
                    .map_err(protocol_error)?;
                client.send(&buffer)?;
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = md5_hash(
                    options.user.as_bytes(),
                    needs_password(options)?,
                    body.salt(),
                );
                frontend::password_message(hash.as_bytes(), &mut buffer).map_err(protocol_error)?;
                client.send(&buffer)?;
            }
            Message::AuthenticationSasl(body) => {
                let mut mechanisms = body.mechanisms();
                let mut offered = false;
                while let Ok(Some(mechanism)) = mechanisms.next() {
                    offered |= mechanism == SCRAM_SHA_256;
                }
                if !offered {
                    return Err(protocol_error("the server offers no SCRAM-SHA-256"));
                }
                let exchange =
                    ScramSha256::new(needs_password(options)?, ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, exchange.message(), &mut buffer)
                    .map_err(protocol_error)?;
                client.send(&buffer)?;
                scram = Some(exchange);
            }
            Message::AuthenticationSaslContinue(body) => {
                let exchange = scram
                    .as_mut()
                    .ok_or_else(|| protocol_error("SASLContinue before SASL"))?;
                exchange.update(body.data()).map_err(protocol_error)?;
                frontend::sasl_response(exchange.message(), &mut buffer).map_err(protocol_error)?;
                client.send(&buffer)?;
            }
            Message::AuthenticationSaslFinal(body) => {
                let exchange = scram
                    .as_mut()
                    .ok_or_else(|| protocol_error("SASLFinal before SASL"))?;
                // Checks the server's signature: it knew the password too.
                exchange.finish(body.data()).map_err(protocol_error)?;
            }
            Message::BackendKeyData(body) => {
                client.key.pid = body.process_id();
                client.key.secret = body.secret_key();
            }
            Message::ParameterStatus(body) => {
                if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
                    let (name, value) = (name.to_string(), value.to_string());
                    client.remember_parameter(&name, &value);
                }
            }
            Message::ErrorResponse(body) => return Err(failure_of(body.fields(), "")),
            Message::ReadyForQuery(_) => return Ok(()),
            Message::NoticeResponse(_) => {}
            _ => {
                return Err(protocol_error(
                    "the server asks for an authentication the shell does not speak (GSS, SSPI, Kerberos)",
                ));
            }
        }
    }
}

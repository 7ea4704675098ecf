//! SMTP delivery through lettre, per `settings.smtp`: implicit TLS when
//! `tls` is set (usually port 465), otherwise STARTTLS when the server
//! offers it and plain text when it does not (a local relay or a test
//! sink), as PocketBase does.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{Tls, TlsParameters},
        extension::ClientId,
    },
};

use super::Message;
use crate::settings::{Meta, Smtp};

/// Bounds one delivery so a stalled server cannot pile up tasks forever.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("invalid address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("smtp: {0}")]
    Transport(#[from] lettre::transport::smtp::Error),
}

impl SmtpError {
    /// Whether trying again cannot help: a malformed address or message,
    /// or a mail server that answered with a permanent (5xx) refusal.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Address(_) | Self::Build(_) => true,
            Self::Transport(err) => err.is_permanent(),
        }
    }
}

fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, SmtpError> {
    let tls = TlsParameters::new(smtp.host.clone())?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .timeout(Some(TIMEOUT))
        .tls(if smtp.tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Opportunistic(tls)
        });
    if !smtp.local_name.is_empty() {
        builder = builder.hello_name(ClientId::Domain(smtp.local_name.clone()));
    }
    if !smtp.username.is_empty() {
        builder = builder.credentials(Credentials::new(smtp.username.clone(), smtp.password.clone()));
        let mechanism = match smtp.auth_method.to_ascii_uppercase().as_str() {
            "LOGIN" => Mechanism::Login,
            _ => Mechanism::Plain,
        };
        builder = builder.authentication(vec![mechanism]);
    }
    Ok(builder.build())
}

/// Sends one message now.
pub async fn deliver(smtp: &Smtp, meta: &Meta, message: Message) -> Result<(), SmtpError> {
    let from = Mailbox::new(
        (!meta.sender_name.is_empty()).then(|| meta.sender_name.clone()),
        meta.sender_address.parse()?,
    );
    let email = lettre::Message::builder()
        .from(from)
        .to(Mailbox::new(None, message.to.parse()?))
        .subject(message.subject)
        .multipart(MultiPart::alternative_plain_html(message.text, message.html))?;
    transport(smtp)?.send(email).await?;
    Ok(())
}

//! Accounts and sign-in: password hashing, auth tokens, identifying the
//! caller, superuser accounts and the one-time installer token.

pub mod backoff;
pub mod caller;
pub mod email;
pub mod installer;
pub mod login;
pub mod password;
pub mod sessions;
pub mod signin;
pub mod superusers;
pub mod token;

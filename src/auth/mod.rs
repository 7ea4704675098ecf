//! Accounts and sign-in: auth tokens, identifying the
//! caller, superuser accounts, the one-time installer token, the account
//! flows (verification, password reset, email change, OTP, MFA,
//! new-location alerts), OAuth2 sign-in and refresh-token sessions.

pub mod account;
pub mod alert;
pub mod backoff;
pub mod caller;
pub mod deps;
pub mod flows;
pub mod installer;
pub mod mfa;
pub mod oauth2;
pub mod otp;
pub mod password_reset;
pub mod password_signin;
pub mod remains;
pub mod sessions;
pub mod signin;
pub mod superusers;
pub mod token;

//! Accounts and sign-in: password hashing, auth tokens, identifying the
//! caller, superuser accounts, the one-time installer token, and the
//! account flows (verification, password reset, email change, OTP, MFA,
//! new-location alerts).

pub mod account;
pub mod alert;
pub mod caller;
pub mod email;
pub mod flows;
pub mod installer;
pub mod login;
pub mod manage;
pub mod mfa;
pub mod otp;
pub mod password;
pub mod signin;
pub mod superusers;
pub mod token;

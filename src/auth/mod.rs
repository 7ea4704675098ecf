//! Accounts and sign-in. For now: password hashing, superuser accounts and
//! the one-time installer token that creates the first superuser.

pub mod email;
pub mod installer;
pub mod password;
pub mod superusers;

//! `/api/collections/{c}/records`, by concern: every field type through
//! storage and back with its validation codes, writes and modifiers, rules,
//! lists, deletes, and auth collections' records.

mod auth_records;
mod delete;
mod field_types;
mod list;
mod rules;
mod writes;

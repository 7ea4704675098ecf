//! PocketBase's datetime text: `2006-01-02 15:04:05.000Z`, always UTC.
//! Stored and sent in this one form so that string order is time order.

use chrono::{DateTime, Utc};

pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3fZ";

pub fn format(t: DateTime<Utc>) -> String {
    t.format(FORMAT).to_string()
}

pub fn now() -> String {
    format(Utc::now())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn formats_like_pocketbase() {
        let t = Utc
            .with_ymd_and_hms(2006, 1, 2, 15, 4, 5)
            .single()
            .expect("valid")
            + chrono::Duration::milliseconds(7);
        assert_eq!(format(t), "2006-01-02 15:04:05.007Z");
        assert_eq!(now().len(), "2006-01-02 15:04:05.000Z".len());
    }
}

//! Times and durations as a person reads them: `2026-10-30 12:00:12 UTC`,
//! dig's `20261030120012` for RRSIG fields, `33 days ago`.
//!
//! No clock here: every function takes the times it prints.

/// A Unix time as (year, month, day, hour, minute, second), UTC.
pub fn civil(unix: u64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, m, d) = civil_from_days((unix / 86_400) as i64);
    let rem = unix % 86_400;
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

pub use danebound_trust_anchors::time_text::{civil_from_days, utc};

/// `20261030120012`: an RRSIG time field as dig and zone files print it
/// (RFC 4034 §3.2).
pub fn rrsig(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(unix);
    format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}")
}

/// A length of time in its largest whole unit: `33 days`, `1 hour`,
/// `5 minutes`, `0 seconds`.
pub fn duration(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 => (s / 86_400, "day"),
        s if s >= 2 * 3600 => (s / 3600, "hour"),
        s if s >= 2 * 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `t` relative to `now`: `33 days ago`, `in 2 hours`, `now`.
pub fn relative(t: u64, now: u64) -> String {
    match t.cmp(&now) {
        std::cmp::Ordering::Less => format!("{} ago", duration(now - t)),
        std::cmp::Ordering::Greater => format!("in {}", duration(t - now)),
        std::cmp::Ordering::Equal => "now".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(rrsig(1_543_580_323), "20181130121843");
        assert_eq!(rrsig(u64::from(u32::MAX)), "21060207062815");
        // Leap days, century and 400-year rules.
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_709_164_800), "2024-02-29 00:00:00 UTC");
        assert_eq!(utc(4_107_542_400), "2100-03-01 00:00:00 UTC");
        assert_eq!(utc(1_793_361_612), "2026-10-30 12:00:12 UTC");
        assert_eq!(utc(253_402_300_799), "9999-12-31 23:59:59 UTC");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // 1970..2200, day by day: the date advances by exactly one day.
        let mut prev = civil(0);
        for day in 1..(230 * 366) {
            let next = civil(day * 86_400);
            let (y, m, d, ..) = prev;
            let expected = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!((next.0, next.1, next.2), expected, "day {day}");
            prev = next;
        }
    }

    fn days_in(y: i64, m: u32) -> u32 {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][m as usize - 1]
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0 seconds");
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(119), "119 seconds");
        assert_eq!(duration(120), "2 minutes");
        assert_eq!(duration(3 * 3600 + 5), "3 hours");
        assert_eq!(duration(33 * 86_400 + 7), "33 days");
        assert_eq!(relative(100, 100 + 33 * 86_400), "33 days ago");
        assert_eq!(relative(100 + 7200, 100), "in 2 hours");
        assert_eq!(relative(5, 5), "now");
    }
}

//! Dates as text without reading a clock: unbound's `ctime()` form (in UTC)
//! and the plain `2026-11-28 08:00:00 UTC` form of `danebound anchor show`.

/// (year, month 1–12, day 1–31, weekday 0 = Sunday, hh, mm, ss) in UTC.
fn civil(epoch: u64) -> (i64, u32, u32, u32, u64, u64, u64) {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    let weekday = (days + 4).rem_euclid(7) as u32;
    (y, m, d, weekday, secs / 3600, secs / 60 % 60, secs % 60)
}

/// The (year, month, day) of a day number since 1970-01-01 (negative
/// before), by Howard Hinnant's algorithm (proleptic Gregorian calendar).
/// The one calendar of the workspace: the resolver's `timefmt` uses it too.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `ctime()` without the newline, in UTC: `Sat Nov 28 08:00:00 2026`.
pub fn ctime(epoch: u64) -> String {
    let (y, m, d, wd, hh, mm, ss) = civil(epoch);
    format!(
        "{} {} {d:2} {hh:02}:{mm:02}:{ss:02} {y}",
        WEEKDAYS[wd as usize],
        MONTHS[(m - 1) as usize]
    )
}

/// `2026-11-28 08:00:00 UTC`.
pub fn utc(epoch: u64) -> String {
    let (y, m, d, _, hh, mm, ss) = civil(epoch);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// A duration in plain words: `30 days`, `4 h 48 min`, `20 s`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} day{}", if d == 1 { "" } else { "s" }));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_ctime_in_utc() {
        assert_eq!(ctime(1_795_852_800), "Sat Nov 28 08:00:00 2026");
        assert_eq!(ctime(1_502_896_424), "Wed Aug 16 15:13:44 2017");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(utc(1_739_167_920), "2025-02-10 06:12:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(duration(17_280), "4 h 48 min");
        assert_eq!(duration(30 * 86_400), "30 days");
        assert_eq!(duration(0), "0 s");
    }
}

//! Dates and times between PostgreSQL's binary form and text: RFC 3339
//! timestamps, ISO 8601 dates, times and durations.
//!
//! PostgreSQL counts timestamps in microseconds and dates in days from
//! 2000-01-01; this module converts those counts to civil dates and back
//! (Howard Hinnant's algorithms, proleptic Gregorian calendar, exact for
//! every date PostgreSQL stores) and reads and writes the text forms. It
//! does no I/O and knows nothing of SQL or of values.

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn write_date(out: &mut String, days_since_2000: i64) {
    let (year, month, day) = civil_from_days(days_since_2000 + EPOCH_DAYS);
    if (0..=9999).contains(&year) {
        out.push_str(&format!("{year:04}-{month:02}-{day:02}"));
    } else {
        out.push_str(&format!("{year:+05}-{month:02}-{day:02}"));
    }
}

/// `HH:MM:SS` and, when there is one, the fraction without trailing zeros.
fn write_time(out: &mut String, micros: i64) {
    let seconds = micros / MICROS_PER_SECOND;
    let fraction = micros % MICROS_PER_SECOND;
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ));
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// A PostgreSQL `timestamp` (`utc` false) or `timestamptz` (`utc` true,
/// written with `Z`) as RFC 3339 text; the infinities as `infinity` and
/// `-infinity`, as PostgreSQL spells them.
pub fn format_timestamp(micros_since_2000: i64, utc: bool) -> String {
    match micros_since_2000 {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = micros_since_2000.div_euclid(MICROS_PER_DAY);
    let mut out = String::with_capacity(32);
    write_date(&mut out, days);
    out.push('T');
    write_time(&mut out, micros_since_2000.rem_euclid(MICROS_PER_DAY));
    if utc {
        out.push('Z');
    }
    out
}

/// A PostgreSQL `date` as `YYYY-MM-DD`.
pub fn format_date(days_since_2000: i32) -> String {
    match days_since_2000 {
        i32::MAX => return "infinity".into(),
        i32::MIN => return "-infinity".into(),
        _ => {}
    }
    let mut out = String::with_capacity(10);
    write_date(&mut out, i64::from(days_since_2000));
    out
}

/// A PostgreSQL `time` as `HH:MM:SS[.ffffff]`.
pub fn format_time(micros: i64) -> String {
    let mut out = String::with_capacity(15);
    write_time(&mut out, micros);
    out
}

/// A PostgreSQL `timetz` (its zone in seconds *west* of UTC) as
/// `HH:MM:SS[.ffffff]±hh:mm`.
pub fn format_timetz(micros: i64, zone_west: i32) -> String {
    let mut out = format_time(micros);
    let east = -zone_west;
    let sign = if east < 0 { '-' } else { '+' };
    let east = east.unsigned_abs();
    out.push_str(&format!("{sign}{:02}:{:02}", east / 3600, east / 60 % 60));
    if !east.is_multiple_of(60) {
        out.push_str(&format!(":{:02}", east % 60));
    }
    out
}

/// A PostgreSQL `interval` as an ISO 8601 duration, each part with its own
/// sign as PostgreSQL's `iso_8601` style writes it: `P1Y2M3DT4H5M6.5S`.
pub fn format_interval(months: i32, days: i32, micros: i64) -> String {
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (n, unit) in [
        (i64::from(years), 'Y'),
        (i64::from(months), 'M'),
        (i64::from(days), 'D'),
    ] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if micros != 0 {
        out.push('T');
        let hours = micros / 3_600_000_000;
        let minutes = micros / 60_000_000 % 60;
        let rest = micros % 60_000_000;
        for (n, unit) in [(hours, 'H'), (minutes, 'M')] {
            if n != 0 {
                out.push_str(&format!("{n}{unit}"));
            }
        }
        if rest != 0 {
            let sign = if rest < 0 { "-" } else { "" };
            let rest = rest.unsigned_abs();
            out.push_str(&format!("{sign}{}", rest / 1_000_000));
            if !rest.is_multiple_of(1_000_000) {
                let digits = format!("{:06}", rest % 1_000_000);
                out.push('.');
                out.push_str(digits.trim_end_matches('0'));
            }
            out.push('S');
        }
    }
    if out == "P" {
        out.push_str("T0S");
    }
    out
}

/// A timestamp read from text: microseconds since 2000-01-01 of the civil
/// time written, and its offset east of UTC in seconds if it had one.
pub struct Parsed {
    pub micros: i64,
    pub offset: Option<i64>,
}

/// Reads `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±hh[:mm]]`, or a bare
/// date (midnight), or `infinity` / `-infinity`.
pub fn parse_timestamp(text: &str) -> Result<Parsed, String> {
    match text {
        "infinity" => {
            return Ok(Parsed {
                micros: i64::MAX,
                offset: Some(0),
            });
        }
        "-infinity" => {
            return Ok(Parsed {
                micros: i64::MIN,
                offset: Some(0),
            });
        }
        _ => {}
    }
    let bad = || format!("`{text}` is not an RFC 3339 timestamp (2024-05-01T12:30:00Z)");
    let date_part = text.get(..10).ok_or_else(bad)?;
    let days = parse_date_days(date_part).ok_or_else(bad)?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Ok(Parsed {
            micros: days * MICROS_PER_DAY,
            offset: None,
        });
    }
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let time = parse_time(&rest[..zone_at]).map_err(|_| bad())?;
    let offset = match &rest[zone_at..] {
        "" => None,
        "Z" | "z" => Some(0),
        zone => Some(parse_offset(zone).ok_or_else(bad)?),
    };
    Ok(Parsed {
        micros: days * MICROS_PER_DAY + time,
        offset,
    })
}

/// `±hh[:mm]` or `±hhmm` in seconds east of UTC.
fn parse_offset(zone: &str) -> Option<i64> {
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Days since 2000-01-01 of `YYYY-MM-DD`.
fn parse_date_days(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let length = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=length)
        .contains(&day)
        .then(|| days_from_civil(i64::from(year), month, day) - EPOCH_DAYS)
}

/// Reads `YYYY-MM-DD` into days since 2000-01-01.
pub fn parse_date(text: &str) -> Result<i32, String> {
    match text {
        "infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(i32::MIN),
        _ => {}
    }
    parse_date_days(text)
        .and_then(|d| i32::try_from(d).ok())
        .ok_or_else(|| format!("`{text}` is not a date (2024-05-01)"))
}

/// Reads `HH:MM[:SS[.fraction]]` into microseconds since midnight.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a time (12:30:00)");
    let mut parts = text.splitn(3, ':');
    let mut field = |max: i64| -> Result<i64, String> {
        let part = parts.next().ok_or_else(bad)?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = part.parse().map_err(|_| bad())?;
        if n > max { Err(bad()) } else { Ok(n) }
    };
    let hours = field(24)?;
    let minutes = field(59)?;
    let (seconds, fraction) = match parts.next() {
        None => (0, 0),
        Some(rest) => {
            let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
            if whole.len() != 2
                || !whole.bytes().all(|b| b.is_ascii_digit())
                || !fraction.bytes().all(|b| b.is_ascii_digit())
                || fraction.len() > 9
            {
                return Err(bad());
            }
            let seconds: i64 = whole.parse().map_err(|_| bad())?;
            if seconds > 60 {
                return Err(bad());
            }
            let padded = format!("{fraction:0<6}");
            let micros: i64 = padded[..6].parse().map_err(|_| bad())?;
            (seconds, micros)
        }
    };
    let micros = ((hours * 60 + minutes) * 60 + seconds) * MICROS_PER_SECOND + fraction;
    if micros > MICROS_PER_DAY {
        return Err(bad());
    }
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in (-1_000_000..1_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 1, 1), EPOCH_DAYS);
        assert_eq!(civil_from_days(EPOCH_DAYS + 59), (2000, 2, 29));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(format_timestamp(0, true), "2000-01-01T00:00:00Z");
        assert_eq!(format_timestamp(-1, true), "1999-12-31T23:59:59.999999Z");
        assert_eq!(
            format_timestamp(MICROS_PER_DAY + 1_500_000, false),
            "2000-01-02T00:00:01.5"
        );
        assert_eq!(format_timestamp(i64::MAX, true), "infinity");
        let parsed = parse_timestamp("2024-02-29T12:30:15.25+02:00").unwrap();
        assert_eq!(parsed.offset, Some(7200));
        assert_eq!(
            format_timestamp(parsed.micros, false),
            "2024-02-29T12:30:15.25"
        );
        assert_eq!(
            parse_timestamp("2024-02-29 08:00Z").unwrap().offset,
            Some(0)
        );
        assert_eq!(parse_timestamp("2024-02-29").unwrap().offset, None);
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01",
            "2024-01-01T25:00",
            "yesterday",
            "2024-01-01T10:00+5",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_times_and_intervals_have_iso_forms() {
        assert_eq!(format_date(0), "2000-01-01");
        for date in ["0001-01-01", "1999-12-31", "2024-02-29", "9999-12-31"] {
            assert_eq!(format_date(parse_date(date).unwrap()), date);
        }
        assert_eq!(parse_date("2000-01-02"), Ok(1));
        assert_eq!(format_time(45_296_000_001), "12:34:56.000001");
        assert_eq!(parse_time("12:34:56.000001"), Ok(45_296_000_001));
        assert_eq!(parse_time("12:34"), Ok(45_240_000_000));
        assert!(parse_time("12:60").is_err());
        assert_eq!(format_timetz(0, -3600), "00:00:00+01:00");
        assert_eq!(format_interval(14, 3, 3_723_500_000), "P1Y2M3DT1H2M3.5S");
        assert_eq!(format_interval(0, 0, 0), "PT0S");
        assert_eq!(format_interval(-1, 0, -1_000_000), "P-1MT-1S");
    }
}

//! PostgreSQL `NUMERIC` in its binary form, to and from decimal text.
//!
//! A numeric has up to 131072 digits before the point and 16383 after: no
//! machine number holds one, so a value reads as its exact decimal text,
//! written the way PostgreSQL writes it (`12.50` keeps its scale), and is
//! bound from text, integers or floats the same way. The binary form is
//! base-10000 digits with a weight (the power of the first), a sign and the
//! display scale.

const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const INFINITY: u16 = 0xD000;
const NEG_INFINITY: u16 = 0xF000;
const MAX_SCALE: usize = 0x3FFF;

/// The decimal text of a binary numeric.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<u16, String> {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a numeric value is cut short".to_string())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let sign = word(4)?;
    let scale = usize::from(word(6)?);
    match sign {
        NAN => return Ok("NaN".into()),
        INFINITY => return Ok("Infinity".into()),
        NEG_INFINITY => return Ok("-Infinity".into()),
        POSITIVE | NEGATIVE => {}
        other => return Err(format!("a numeric value has an unknown sign {other:#06x}")),
    }
    let digits = (0..ndigits)
        .map(|k| word(8 + 2 * k))
        .collect::<Result<Vec<u16>, String>>()?;
    let digit = |k: i64| -> u16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k))
            .copied()
            .unwrap_or(0)
    };
    let mut text = String::with_capacity(ndigits * 4 + 3);
    if sign == NEGATIVE {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for k in 1..=weight {
            text.push_str(&format!("{:04}", digit(k)));
        }
    }
    if scale > 0 {
        text.push('.');
        let mut fraction = String::with_capacity(scale + 4);
        let mut j = 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(weight + j)));
            j += 1;
        }
        fraction.truncate(scale);
        text.push_str(&fraction);
    }
    Ok(text)
}

/// The binary numeric of decimal text: an optional sign, digits with an
/// optional point, an optional exponent (`1.5e3`), or `NaN` / `Infinity`.
pub fn encode(text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("`{text}` is not a decimal number");
    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let special = match unsigned.to_ascii_lowercase().as_str() {
        "nan" if unsigned.len() == trimmed.len() => Some(NAN),
        "infinity" | "inf" => Some(if negative { NEG_INFINITY } else { INFINITY }),
        _ => None,
    };
    if let Some(sign) = special {
        return Ok(header(0, 0, sign, 0));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            &unsigned[..at],
            unsigned[at + 1..].parse::<i64>().map_err(|_| bad())?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
        return Err(bad());
    }
    // Move the point by the exponent: the digits are whole ++ fraction,
    // with the point after `point` of them.
    let out_of_range = || format!("`{text}` is beyond PostgreSQL's numeric range");
    let mut digits: String = [whole, fraction].concat();
    let point = i64::try_from(whole.len()).map_err(|_| bad())? + exponent;
    let scale = i64::try_from(fraction.len()).map_err(|_| bad())? - exponent;
    if scale > MAX_SCALE as i64 || !(-(MAX_SCALE as i64)..=131_072).contains(&point) {
        return Err(out_of_range());
    }
    let scale = usize::try_from(scale).unwrap_or(0);
    // Pad with zeros until the point lies within the digits, on a multiple
    // of 4, and every group of 4 is full. `point` is within ±131072 here.
    let mut point = point;
    if point < 0 {
        digits.insert_str(0, &"0".repeat(point.unsigned_abs() as usize));
        point = 0;
    }
    let mut point = point as usize;
    if digits.len() < point {
        digits.push_str(&"0".repeat(point - digits.len()));
    }
    let lead = (4 - point % 4) % 4;
    digits.insert_str(0, &"0".repeat(lead));
    point += lead;
    while !digits.len().is_multiple_of(4) {
        digits.push('0');
    }
    let padded = digits;
    let mut groups: Vec<u16> = padded
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
        .collect();
    let mut weight = i64::try_from(point / 4).map_err(|_| bad())? - 1;
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i64;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        return Ok(header(0, 0, POSITIVE, scale));
    }
    let weight = i16::try_from(weight).map_err(|_| out_of_range())?;
    let mut out = header(
        groups.len(),
        weight,
        if negative { NEGATIVE } else { POSITIVE },
        scale,
    );
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
    Ok(out)
}

fn header(ndigits: usize, weight: i16, sign: u16, scale: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + ndigits * 2);
    // Both bounded above: ndigits by the range check, scale by MAX_SCALE.
    out.extend_from_slice(&(ndigits as u16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        decode(&encode(text).unwrap()).unwrap()
    }

    #[test]
    fn decimal_text_round_trips() {
        for text in [
            "0",
            "1",
            "-1",
            "12.50",
            "0.0001",
            "10000",
            "9999.9999",
            "123456789012345678901234567890.123456789",
            "-0.000000001",
            "NaN",
            "Infinity",
            "-Infinity",
            "100000000",
            "0.10",
        ] {
            assert_eq!(round_trip(text), text);
        }
        assert_eq!(round_trip("1.5e3"), "1500");
        assert_eq!(round_trip("1.5E-3"), "0.0015");
        assert_eq!(round_trip("-0"), "0");
        assert_eq!(round_trip("+007.50"), "7.50");
        assert_eq!(round_trip(".5"), "0.5");
    }

    #[test]
    fn bad_text_is_refused() {
        for bad in ["", "abc", "1.2.3", "1e", "--1", "1e200000", "."] {
            assert!(encode(bad).is_err(), "{bad}");
        }
        assert!(decode(&[0, 1]).is_err());
    }
}

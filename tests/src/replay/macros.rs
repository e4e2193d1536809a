//! The macro language of ASSIGN, TIME_PASSES EVAL and FILE bodies (§5.5,
//! `replay.c`): `${expr}`, nested; `$var`; numbers; `+ - * /` left to right
//! without precedence; `time`, `timeout`, `ctime <n>`, `range lo v hi`.
//! Results print like C's `%.12g`.

use std::collections::HashMap;

/// Values the macros read from the run.
pub trait MacroEnv {
    /// The fake clock, seconds.
    fn time(&self) -> f64;
    /// Seconds until the earliest timer (the next RFC 5011 probe), if known.
    fn timeout(&self) -> Option<f64>;
}

/// Expands every `${…}` in `text`.
pub fn expand(
    text: &str,
    vars: &HashMap<String, String>,
    env: &dyn MacroEnv,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = matching_brace(after).ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
        let inner = expand(&after[..end], vars, env)?;
        out.push_str(&eval(&inner, vars, env)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if b[i] == b'}' {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
        i += 1;
    }
    None
}

/// Evaluates the inside of one `${…}` (already expanded).
fn eval(expr: &str, vars: &HashMap<String, String>, env: &dyn MacroEnv) -> Result<String, String> {
    let e = expr.trim();
    if e == "time" {
        return Ok(format_g(env.time()));
    }
    if e == "timeout" {
        return env.timeout().map(format_g).ok_or_else(|| {
            "unsupported: ${timeout} needs the resolver's next RFC 5011 probe time".to_string()
        });
    }
    if let Some(arg) = e.strip_prefix("ctime") {
        let v = arith(arg, vars)?;
        return Ok(ctime(v as i64));
    }
    if let Some(args) = e.strip_prefix("range") {
        let parts: Vec<&str> = args.split_whitespace().collect();
        let [lo, v, hi] = parts.as_slice() else {
            return Err(format!("bad range {e:?}"));
        };
        let (lo, v, hi) = (arith(lo, vars)?, arith(v, vars)?, arith(hi, vars)?);
        if !(lo <= v && v <= hi) {
            return Err(format!("range check failed: {v} not in {lo}..{hi}"));
        }
        return Ok(format_g(v));
    }
    arith(e, vars).map(format_g)
}

/// Left-to-right arithmetic over numbers and `$var`s.
fn arith(e: &str, vars: &HashMap<String, String>) -> Result<f64, String> {
    let b = e.as_bytes();
    let mut i = 0;
    let mut acc: Option<f64> = None;
    let mut op = b'+';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if acc.is_some() && matches!(c, b'+' | b'-' | b'*' | b'/') {
            op = c;
            i += 1;
            continue;
        }
        let start = i;
        let value = if c == b'$' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let name = &e[start + 1..i];
            let v = vars
                .get(name)
                .ok_or_else(|| format!("undefined variable ${name}"))?;
            v.trim()
                .parse::<f64>()
                .map_err(|_| format!("${name} = {v:?} is not a number"))?
        } else {
            if c == b'-' || c == b'+' {
                i += 1;
            }
            while i < b.len()
                && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e' || b[i] == b'E')
            {
                i += 1;
            }
            e[start..i]
                .parse::<f64>()
                .map_err(|_| format!("bad number in {e:?}"))?
        };
        acc = Some(match acc {
            None => value,
            Some(a) => match op {
                b'+' => a + value,
                b'-' => a - value,
                b'*' => a * value,
                _ => {
                    if value == 0.0 {
                        return Err(format!("division by zero in {e:?}"));
                    }
                    a / value
                }
            },
        });
    }
    acc.ok_or_else(|| format!("empty expression {e:?}"))
}

/// C's `%.12g`.
pub fn format_g(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e12 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.12e}");
    let exp: i32 = s
        .split('e')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    if (-5..12).contains(&exp) {
        let decimals = (11 - exp).max(0) as usize;
        let f = format!("{v:.decimals$}");
        let f = if f.contains('.') {
            f.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            f
        };
        return f;
    }
    let mantissa = format!("{:.11}", v / 10f64.powi(exp));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// C's `ctime()` in UTC without the newline: `Fri Jan  2 10:17:36 1970`.
pub fn ctime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = danebound_resolver::timefmt::civil_from_days(days);
    let wd = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WD[wd],
        MO[(m - 1) as usize],
        d,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        y
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl MacroEnv for Env {
        fn time(&self) -> f64 {
            1_251_100_000.0
        }
        fn timeout(&self) -> Option<f64> {
            Some(5000.0)
        }
    }

    fn x(s: &str, vars: &HashMap<String, String>) -> Result<String, String> {
        expand(s, vars, &Env)
    }

    /// Reference cases after unbound's `testbound_selftest()`.
    #[test]
    fn selftest_cases() {
        let mut v = HashMap::new();
        assert_eq!(x("${2+3*4}", &v).unwrap(), "20");
        assert_eq!(x("${1+2}", &v).unwrap(), "3");
        assert_eq!(x("${10/4}", &v).unwrap(), "2.5");
        assert_eq!(
            x("${ctime 123456}", &v).unwrap(),
            "Fri Jan  2 10:17:36 1970"
        );
        v.insert("t0".into(), "1251100000".into());
        v.insert("probe".into(), "5000".into());
        assert_eq!(x("${$t0 + $probe}", &v).unwrap(), "1251105000");
        assert_eq!(
            x("a ${$t0} ;;${ctime $t0} b", &v).unwrap(),
            "a 1251100000 ;;Mon Aug 24 07:46:40 2009 b"
        );
        assert_eq!(x("${range 4800 ${timeout} 5400}", &v).unwrap(), "5000");
        assert!(x("${range 5100 ${timeout} 5400}", &v).is_err());
        assert_eq!(x("${time}", &v).unwrap(), "1251100000");
        assert_eq!(x("${30*24*3600}", &v).unwrap(), "2592000");
        assert!(x("${$nope}", &v).is_err());
        assert!(x("${1", &v).is_err());
        assert_eq!(format_g(0.1), "0.1");
        assert_eq!(format_g(1e15), "1e+15");
    }
}

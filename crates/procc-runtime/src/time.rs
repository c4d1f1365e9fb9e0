//! Time arithmetic of delays: calendar days and business days in a time zone, hours exactly.
//!
//! - `N hours`: exactly N × 3600 s later.
//! - `N days`: the same local wall-clock time N calendar days later in the time zone.
//! - `N business days` on a calendar: the same local time on the N-th following day that is
//!   neither a weekend day of the calendar nor one of its holidays (in the calendar's zone).
//!
//! Local times that do not exist (the hour skipped when clocks go forward) move forward by the
//! gap (02:30 becomes 03:30); local times that exist twice (clocks go back) take the earlier one.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use procc_plan::{Calendar, Delay, TimeUnit};

use crate::{Error, Result};

/// The instant of a local wall-clock time in `tz`, DST-safe (see the module docs).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: read the wall time with the offset in force before the gap, which
            // moves it forward by the gap's length.
            match tz
                .offset_from_local_datetime(&(local - Duration::hours(6)))
                .earliest()
            {
                Some(offset) => {
                    let seconds = i64::from(offset.fix().local_minus_utc());
                    Utc.from_utc_datetime(&(local - Duration::seconds(seconds)))
                }
                None => Utc.from_utc_datetime(&local),
            }
        }
    }
}

/// Parses an IANA time zone name.
pub fn parse_tz(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| Error::InvalidInput(format!("unknown time zone `{name}`")))
}

fn is_business_day(calendar: &Calendar, date: NaiveDate) -> bool {
    let weekday = match date.weekday() {
        chrono::Weekday::Mon => "monday",
        chrono::Weekday::Tue => "tuesday",
        chrono::Weekday::Wed => "wednesday",
        chrono::Weekday::Thu => "thursday",
        chrono::Weekday::Fri => "friday",
        chrono::Weekday::Sat => "saturday",
        chrono::Weekday::Sun => "sunday",
    };
    !calendar.weekend.iter().any(|w| w == weekday)
        && calendar.holidays.binary_search(&date).is_err()
}

/// `from` plus the delay. `tz` is the zone of calendar days; business days use their
/// calendar's zone (`calendars` is the plan's list).
pub fn add_delay(
    from: DateTime<Utc>,
    delay: &Delay,
    tz: Tz,
    calendars: &[Calendar],
) -> Result<DateTime<Utc>> {
    let amount = i64::from(delay.amount);
    match delay.unit {
        TimeUnit::Hours => Ok(from + Duration::hours(amount)),
        TimeUnit::Days => {
            let local = from.with_timezone(&tz).naive_local();
            Ok(resolve_local(tz, local + Duration::days(amount)))
        }
        TimeUnit::BusinessDays => {
            let default;
            let calendar = match &delay.calendar {
                Some(id) => calendars.iter().find(|c| &c.id == id).ok_or_else(|| {
                    Error::InvalidInput(format!("the plan has no calendar `{id}`"))
                })?,
                None => {
                    default = Calendar {
                        id: String::new(),
                        time_zone: tz.name().to_string(),
                        weekend: vec!["saturday".into(), "sunday".into()],
                        holidays: Vec::new(),
                    };
                    &default
                }
            };
            let ctz = parse_tz(&calendar.time_zone)?;
            let local = from.with_timezone(&ctz).naive_local();
            let mut date = local.date();
            let mut left = amount;
            let mut guard = 0;
            while left > 0 {
                date = date
                    .succ_opt()
                    .ok_or_else(|| Error::InvalidInput("date out of range".into()))?;
                if is_business_day(calendar, date) {
                    left -= 1;
                }
                guard += 1;
                if guard > 100_000 {
                    return Err(Error::InvalidInput(format!(
                        "calendar `{}` has no business days",
                        calendar.id
                    )));
                }
            }
            Ok(resolve_local(ctz, date.and_time(local.time())))
        }
    }
}

/// The local date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The next instant at or after `from` whose local time in `tz` is `hh_mm` (`HH:MM`).
pub fn next_local_time(from: DateTime<Utc>, hh_mm: &str, tz: Tz) -> Result<DateTime<Utc>> {
    let time = chrono::NaiveTime::parse_from_str(hh_mm, "%H:%M")
        .map_err(|_| Error::InvalidInput(format!("`{hh_mm}` is not a time of day HH:MM")))?;
    let date = local_date(from, tz);
    let today = resolve_local(tz, date.and_time(time));
    if today >= from {
        return Ok(today);
    }
    let tomorrow = date
        .succ_opt()
        .ok_or_else(|| Error::InvalidInput("date out of range".into()))?;
    Ok(resolve_local(tz, tomorrow.and_time(time)))
}

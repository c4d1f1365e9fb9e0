//! Delay arithmetic: calendar days, hours, business days, DST.

use chrono::Duration;
use chrono_tz::Europe::Berlin;
use procc_plan::{Delay, TimeUnit};
use procc_runtime::{add_delay, next_local_time, resolve_local};

use crate::common::*;

fn delay(amount: u32, unit: TimeUnit, calendar: Option<&str>) -> Delay {
    Delay {
        amount,
        unit,
        calendar: calendar.map(str::to_string),
    }
}

#[test]
fn days_keep_the_local_wall_time_across_dst() {
    let cals = examples().catalog.calendars;
    // Friday 27 March 2026 09:00 CET; clocks go forward on Sunday 29 March.
    let from = berlin(2026, 3, 27, 9, 0);
    let to = add_delay(from, &delay(2, TimeUnit::Days, None), Berlin, &cals).unwrap();
    assert_eq!(to, berlin(2026, 3, 29, 9, 0));
    assert_eq!(to - from, Duration::hours(47));
    // Autumn: clocks go back on 25 October 2026.
    let from = berlin(2026, 10, 24, 9, 0);
    let to = add_delay(from, &delay(1, TimeUnit::Days, None), Berlin, &cals).unwrap();
    assert_eq!(to, berlin(2026, 10, 25, 9, 0));
    assert_eq!(to - from, Duration::hours(25));
}

#[test]
fn hours_are_exact() {
    let from = berlin(2026, 3, 28, 22, 0);
    let to = add_delay(from, &delay(5, TimeUnit::Hours, None), Berlin, &[]).unwrap();
    assert_eq!(to - from, Duration::hours(5));
    // 22:00 CET + 5 h = 04:00 CEST (the skipped hour counts as wall time only).
    assert_eq!(to, berlin(2026, 3, 29, 4, 0));
}

#[test]
fn business_days_skip_weekends_and_holidays_of_the_calendar() {
    let cals = examples().catalog.calendars;
    // Thursday 2 April 2026; Good Friday 3 April and Easter Monday 6 April are NRW holidays.
    let from = berlin(2026, 4, 2, 10, 30);
    let to = add_delay(
        from,
        &delay(1, TimeUnit::BusinessDays, Some("nrw")),
        Berlin,
        &cals,
    )
    .unwrap();
    assert_eq!(to, berlin(2026, 4, 7, 10, 30));
    let to = add_delay(
        from,
        &delay(3, TimeUnit::BusinessDays, Some("nrw")),
        Berlin,
        &cals,
    )
    .unwrap();
    assert_eq!(to, berlin(2026, 4, 9, 10, 30));
    // Friday 27 March + 1 business day = Monday 30 March, same wall time after the DST switch.
    let to = add_delay(
        berlin(2026, 3, 27, 9, 0),
        &delay(1, TimeUnit::BusinessDays, Some("nrw")),
        Berlin,
        &cals,
    )
    .unwrap();
    assert_eq!(to, berlin(2026, 3, 30, 9, 0));
}

#[test]
fn wall_times_in_the_gap_move_forward_and_doubled_ones_take_the_first() {
    let gap = chrono::NaiveDate::from_ymd_opt(2026, 3, 29)
        .unwrap()
        .and_hms_opt(2, 30, 0)
        .unwrap();
    assert_eq!(resolve_local(Berlin, gap), berlin(2026, 3, 29, 3, 30));
    let twice = chrono::NaiveDate::from_ymd_opt(2026, 10, 25)
        .unwrap()
        .and_hms_opt(2, 30, 0)
        .unwrap();
    // The first 02:30 is still CEST: 00:30 UTC.
    assert_eq!(
        resolve_local(Berlin, twice).format("%H:%M").to_string(),
        "00:30"
    );
}

#[test]
fn fixed_send_times_are_the_next_local_occurrence() {
    let from = berlin(2026, 3, 2, 9, 0);
    assert_eq!(
        next_local_time(from, "10:15", Berlin).unwrap(),
        berlin(2026, 3, 2, 10, 15)
    );
    assert_eq!(
        next_local_time(from, "08:00", Berlin).unwrap(),
        berlin(2026, 3, 3, 8, 0)
    );
    assert!(next_local_time(from, "25:00", Berlin).is_err());
}

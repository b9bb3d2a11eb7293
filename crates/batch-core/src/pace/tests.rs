//! The pacing controller on paused time.
#![allow(clippy::unwrap_used)]

use super::request::units;
use super::*;

/// Reports an answer of domain 0 to `pass`.
#[allow(clippy::cast_precision_loss)]
fn answer(pacer: &Pacer, pass: &Pass<'_>, accepted: usize, throttled: usize) {
    let answer = Answer {
        accepted: accepted as f64,
        throttled: throttled as f64,
    };
    pacer.report(pass, &[(0, answer)], accepted);
}

#[allow(clippy::cast_precision_loss)]
fn share(entries: usize) -> Vec<Share> {
    vec![Share {
        domain: 0,
        units: entries as f64,
        payloads: entries,
        bytes: entries * 100,
        known_rate: None,
    }]
}

#[tokio::test(start_paused = true)]
async fn a_domain_with_a_known_rate_is_paced_from_the_start() {
    let pacer = Pacer::new(4, Caps::default(), true);
    let known = |entries: usize| {
        #[allow(clippy::cast_precision_loss)]
        let units = entries as f64;
        vec![Share {
            domain: 1,
            units,
            payloads: entries,
            bytes: 0,
            known_rate: Some(1_000.0),
        }]
    };
    let start = Instant::now();
    for _ in 0..4 {
        drop(pacer.admit(&known(500)).await);
    }
    // 2,000 entries at 1,000 a second: the fourth request's place starts after 1.5 s, and
    // it goes at a moment early in it (up to `JITTER` of its 0.5 s).
    let waited = Instant::now() - start;
    assert!(
        waited >= Duration::from_millis(1_500) && waited <= Duration::from_millis(1_700),
        "{waited:?}"
    );
    // Unpaced, the known rate is not used.
    let unpaced = Pacer::new(4, Caps::default(), false);
    let start = Instant::now();
    for _ in 0..4 {
        drop(unpaced.admit(&known(500)).await);
    }
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_paced_until_the_service_throttles() {
    let pacer = Pacer::new(4, Caps::default(), true);
    let start = Instant::now();
    for _ in 0..100 {
        let pass = pacer.admit(&share(500)).await;
        answer(&pacer, &pass, 500, 0);
    }
    assert_eq!(Instant::now(), start);
    assert_eq!(pacer.rate(), None);
}

#[tokio::test(start_paused = true)]
async fn the_first_throttle_sets_the_rate_below_what_was_accepted() {
    let pacer = Pacer::new(4, Caps::default(), true);
    // 1,000 entries accepted over one second, then a throttle.
    for _ in 0..10 {
        let pass = pacer.admit(&share(100)).await;
        answer(&pacer, &pass, 100, 0);
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    let pass = pacer.admit(&share(100)).await;
    answer(&pacer, &pass, 0, 100);
    let rate = pacer.rate().unwrap();
    assert!((850.0..=950.0).contains(&rate), "{rate}");
    // From then on, 900 entries take about a second.
    let start = Instant::now();
    for _ in 0..9 {
        let pass = pacer.admit(&share(100)).await;
        answer(&pacer, &pass, 100, 0);
    }
    let took = Instant::now() - start;
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_throttle_on_a_request_sent_before_the_last_cut_does_not_cut_again() {
    let pacer = Pacer::new(4, Caps::default(), true);
    let first = pacer.admit(&share(10)).await;
    let second = pacer.admit(&share(10)).await;
    answer(&pacer, &first, 10, 0);
    tokio::time::advance(Duration::from_millis(100)).await;
    answer(&pacer, &second, 0, 10);
    let rate = pacer.rate().unwrap();
    // `first` was sent before the cut too: its throttling does not cut again.
    answer(&pacer, &first, 0, 10);
    assert!((pacer.rate().unwrap() - rate).abs() < f64::EPSILON);
    drop((first, second));
    let third = pacer.admit(&share(10)).await;
    answer(&pacer, &third, 0, 10);
    assert!(pacer.rate().unwrap() < rate);
}

#[tokio::test(start_paused = true)]
async fn the_window_shrinks_on_throttling_and_grows_back() {
    let pacer = Pacer::new(8, Caps::default(), true);
    // Throttling in another domain cuts the window; domain 0 stays unpaced, so only the
    // window limits its requests.
    cut_then_fill_the_window(&pacer, &share(1), Duration::ZERO).await;
    assert!((pacer.lock().window.size - 8.0).abs() < f64::EPSILON);
}

/// Cuts the window with a throttle in another domain (9), then fills it for 200 round trips
/// of `round_trip`, each request of `shares` accepted in its first domain.
async fn cut_then_fill_the_window(pacer: &Pacer, shares: &[Share], round_trip: Duration) {
    let pass = pacer.admit(shares).await;
    let refused = Answer {
        accepted: 0.0,
        throttled: 1.0,
    };
    pacer.report(&pass, &[(9, refused)], 0);
    drop(pass);
    assert!(pacer.lock().window.size < 4.0);
    let accepted = Answer {
        accepted: 1.0,
        throttled: 0.0,
    };
    for _ in 0..200 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let room = pacer.lock().window.size.floor() as usize;
        let mut passes = Vec::new();
        for _ in 0..room {
            passes.push(pacer.admit(shares).await);
        }
        tokio::time::advance(round_trip).await;
        for pass in &passes {
            pacer.report(pass, &[(shares[0].domain, accepted)], 1);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_window_grows_back_while_a_paced_domain_has_room() {
    // A domain paced far above what the window lets through: each request goes at a chance
    // moment early in its place, which is not the rate holding it back.
    let pacer = Pacer::new(8, Caps::default(), true);
    let paced = vec![Share {
        domain: 1,
        units: 1.0,
        payloads: 1,
        bytes: 100,
        known_rate: Some(1_000_000.0),
    }];
    // A round trip far longer than the places the requests take.
    cut_then_fill_the_window(&pacer, &paced, Duration::from_millis(10)).await;
    assert!(
        (pacer.lock().window.size - 8.0).abs() < f64::EPSILON,
        "{}",
        pacer.lock().window.size
    );
}

#[tokio::test(start_paused = true)]
async fn the_window_doubles_then_grows_by_one_per_round_trip_only_while_it_is_the_limit() {
    let pacer = Pacer::new(64, Caps::default(), true);
    let window = || pacer.lock().window.size;
    // A saturated window: a new request takes each slot an answer frees.
    let mut passes = std::collections::VecDeque::new();
    let mut answered = 0;
    for (answers, expected) in [(12, 16.0), (16, 17.0), (17, 18.0)] {
        for _ in 0..answers {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            while passes.len() < window().floor() as usize {
                passes.push_back(pacer.admit(&share(1)).await);
            }
            let pass = passes.pop_front().unwrap();
            answer(&pacer, &pass, 1, 0);
            answered += 1;
        }
        // Slow start adds one per answer (doubling per round trip) up to 16; then one per
        // window of answers.
        assert!(
            (window() - expected).abs() < 1e-9,
            "{} after {answered}",
            window()
        );
    }
    // One request at a time: the window is not the limit, and does not grow.
    drop(passes);
    let before = window();
    for _ in 0..100 {
        let pass = pacer.admit(&share(1)).await;
        answer(&pacer, &pass, 1, 0);
    }
    assert!((window() - before).abs() < f64::EPSILON);
}

#[tokio::test(start_paused = true)]
async fn the_users_cap_holds_without_any_throttling() {
    let caps = Caps {
        records_per_second: Some(100.0),
        ..Caps::default()
    };
    let pacer = Pacer::new(4, caps, true);
    let start = Instant::now();
    for _ in 0..11 {
        let pass = pacer.admit(&share(10)).await;
        answer(&pacer, &pass, 10, 0);
    }
    // 110 entries at 100/s: the last request goes after a second.
    assert_eq!(Instant::now() - start, Duration::from_secs(1));
}

#[test]
fn an_entry_larger_than_the_domains_entry_bytes_counts_as_several() {
    assert!((units(100, Some(1_048)) - 1.0).abs() < 1e-9);
    assert!((units(10_480, Some(1_048)) - 10.0).abs() < 1e-9);
    assert!((units(10_480, None) - 1.0).abs() < 1e-9);
    assert!((units(0, Some(0)) - 1.0).abs() < 1e-9);
}

#[tokio::test(start_paused = true)]
async fn a_domain_paced_in_bytes_lets_large_entries_through_more_slowly() {
    // 1,000 units a second; 100 entries of 10 units each take a second.
    let pacer = Pacer::new(4, Caps::default(), true);
    let start = Instant::now();
    for _ in 0..3 {
        let share = Share {
            domain: 1,
            units: 500.0,
            payloads: 50,
            bytes: 50 * 10_480,
            known_rate: Some(1_000.0),
        };
        drop(pacer.admit(&[share]).await);
    }
    // The third place starts after 1 s, and its request goes early in it.
    let waited = Instant::now() - start;
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1_200),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_writer_told_its_fleet_takes_its_share_of_a_documented_rate() {
    let caps = Caps {
        fleet_size: 10.0,
        ..Caps::default()
    };
    let pacer = Pacer::new(4, caps, true);
    let known = |entries: usize| {
        #[allow(clippy::cast_precision_loss)]
        let units = entries as f64;
        vec![Share {
            domain: 1,
            units,
            payloads: entries,
            bytes: 0,
            known_rate: Some(1_000.0),
        }]
    };
    let start = Instant::now();
    for _ in 0..3 {
        drop(pacer.admit(&known(100)).await);
    }
    // 300 entries at a tenth of 1,000 a second: the third request goes after 2 s, the
    // first went within the time it takes (the fleet's first sends are spread), and each
    // goes early in its place (up to `JITTER` of its second).
    let took = Instant::now() - start;
    assert!(
        took >= Duration::from_secs(2) && took <= Duration::from_millis(3_400),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_throttle_with_nothing_accepted_sets_no_ceiling_to_probe_under() {
    // Nothing accepted: half of the refused 50 a second. After a calm second, a writer told
    // its fleet (growth in proportion to the rate alone) grows at full speed (1.5% of the
    // rate a second, twice that after the calm second: 0.75), not at the third of 1.5% kept
    // for a rate near what the domain took when it throttled (0.125), as it did under a
    // ceiling of the nothing that got through.
    let start = Instant::now();
    let mut domain = Domain::new(start, None);
    assert_eq!(domain.throttled(start, start, 50.0), Some(25.0));
    tokio::time::advance(Duration::from_secs(1)).await;
    domain.grow(Instant::now(), 25.0, false);
    let grown = domain.rate.unwrap() - 25.0;
    assert!(grown > 0.5, "grew by {grown}");
}

#[tokio::test(start_paused = true)]
async fn the_windows_places_go_first_to_requests_that_waited_too_long() {
    // A window of one, held, and a request in line for it.
    let pacer = Arc::new(Pacer::new(1, Caps::default(), true));
    let held = pacer.admit(&share(1)).await;
    let (went, mut order) = tokio::sync::mpsc::unbounded_channel();
    let line_up = |name: &'static str| {
        let (pacer, went) = (Arc::clone(&pacer), went.clone());
        tokio::spawn(async move {
            let one = share(1);
            let pass = pacer.admit(&one).await;
            went.send(name).unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(pass);
        })
    };
    let gives_up = line_up("gave up");
    tokio::task::yield_now().await;
    let waited = line_up("waited");
    tokio::task::yield_now().await;
    gives_up.abort();
    let _ = gives_up.await;
    tokio::time::advance(Duration::from_secs(2)).await;
    drop(held);
    // A request that comes now, before the one overdue has run, finds no place for it.
    let one = share(1);
    let newcomer = tokio::select! {
        biased;
        _pass = pacer.admit(&one) => true,
        () = std::future::ready(()) => false,
    };
    assert!(!newcomer, "a newcomer took the place of a request overdue");
    waited.await.unwrap();
    assert_eq!(order.recv().await, Some("waited"));
}

//! What a peer process measures about itself: CPU time and peak resident memory, from
//! `/proc/self` (Linux).

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time of this process so far, all threads: the nanosecond counts of
/// `/proc/self/task/*/schedstat` (threads alive now; a benchmark's threads live to its end),
/// or, where those are missing, user plus system time from `/proc/self/stat` in 10 ms ticks.
pub(crate) fn cpu_time() -> Duration {
    scheduled_time().unwrap_or_else(ticked_time)
}

fn scheduled_time() -> Option<Duration> {
    let mut nanos: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

fn ticked_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The command name may hold spaces; the fields after it are plain numbers.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are at 11 and 12 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    Duration::from_secs_f64(ticks / TICKS_PER_SECOND)
}

/// Peak resident set size of this process, in KiB (`VmHWM`).
pub(crate) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_cpu_and_memory() {
        let mut x = 0_u64;
        for i in 0..20_000_000_u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_time() > Duration::ZERO);
        assert!(ticked_time() > Duration::ZERO);
        // The two clocks agree to within the ticks' resolution and some scheduling slack.
        let (fine, coarse) = (cpu_time().as_secs_f64(), ticked_time().as_secs_f64());
        assert!(
            (fine - coarse).abs() < 0.05 + coarse * 0.1,
            "{fine} vs {coarse}"
        );
        assert!(peak_rss_kib() > 100);
    }
}

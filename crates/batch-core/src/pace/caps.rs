//! The user's fixed caps on a dispatcher's pace.

/// Fixed caps set by the user, and the writers the user said share the quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Caps {
    pub(crate) records_per_second: Option<f64>,
    pub(crate) bytes_per_second: Option<f64>,
    /// Writers started together on the quota, this one included (at least 1).
    pub(crate) fleet_size: f64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            records_per_second: None,
            bytes_per_second: None,
            fleet_size: 1.0,
        }
    }
}

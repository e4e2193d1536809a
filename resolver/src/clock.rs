//! What time it is: the [`Clock`] seam. The one place that reads the wall
//! clock is [`SystemClock`]; the validator takes `now` as a parameter and the
//! replay harness supplies a fake clock.

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch, used for signature validity
    /// (RFC 4035 §5.3.1) and cache expiry.
    fn unix_now(&self) -> u64;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock fixed at a given time; tests move it by hand.
#[derive(Debug, Default)]
pub struct FixedClock(std::sync::atomic::AtomicU64);

impl FixedClock {
    /// A clock reading `unix_now` seconds.
    pub fn new(unix_now: u64) -> Self {
        Self(std::sync::atomic::AtomicU64::new(unix_now))
    }

    /// Set the time.
    pub fn set(&self, unix_now: u64) {
        self.0.store(unix_now, std::sync::atomic::Ordering::Relaxed);
    }

    /// Move the time forward.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clock for FixedClock {
    fn unix_now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

//! When an access token is due for a refresh, and how long to wait after a failed one.

use std::time::{Duration, SystemTime};

use codex_pooler_core::clock::from_unix_seconds;

use crate::credentials::IdClaims;
use crate::upstream::AccessToken;

/// Refresh this long before the access token's `exp` (five minutes).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Refresh a token without `exp` once it is this old (eight days, the Codex CLI's
/// `TOKEN_REFRESH_INTERVAL`).
pub const MAX_AGE_WITHOUT_EXP: Duration = Duration::from_secs(8 * 24 * 3600);

/// The first retry delay after a failed refresh (doubled per further failure, up to 32 times it).
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(10);

/// How often the background job looks for accounts due for a refresh.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// How the refreshing credential source decides when to refresh and how long to back off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh when the access token expires within this margin.
    pub margin: Duration,
    /// Refresh a token that has no `exp` once it is this old (counted from our last refresh of
    /// it, or from when this process first saw it).
    pub max_age_without_exp: Duration,
    /// The first retry delay after a transient failure; doubled per consecutive failure, capped
    /// at 32 times this value, with ±20% jitter.
    pub retry_backoff: Duration,
    /// A token this process obtained less than this long ago is not refreshed again, unless it
    /// has expired (guards against refresh loops with short-lived tokens or a 401 that is not
    /// about the token).
    pub min_interval: Duration,
    /// How long a request holding a still-valid token waits for an in-flight refresh before it
    /// goes ahead with the old token.
    pub wait_budget: Duration,
    /// After `refresh_token_reused`, how long to look in the store for a rotated token another
    /// replica may be writing before declaring the lineage dead.
    pub reuse_grace: Duration,
    /// How often the background job checks every account.
    pub check_interval: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            margin: DEFAULT_REFRESH_MARGIN,
            max_age_without_exp: MAX_AGE_WITHOUT_EXP,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            min_interval: Duration::from_secs(30),
            wait_budget: Duration::from_secs(10),
            reuse_grace: Duration::from_millis(1500),
            check_interval: DEFAULT_CHECK_INTERVAL,
        }
    }
}

impl RefreshPolicy {
    /// Sets the refresh margin.
    #[must_use]
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the first retry delay.
    #[must_use]
    pub fn with_retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Sets the background check interval.
    #[must_use]
    pub fn with_check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// Sets the minimum interval between two refreshes of a still-valid token.
    #[must_use]
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Sets how long to look for another replica's rotated token after `refresh_token_reused`.
    #[must_use]
    pub fn with_reuse_grace(mut self, grace: Duration) -> Self {
        self.reuse_grace = grace;
        self
    }

    /// The retry delay after `failures` consecutive failures (at least one), without jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use codex_pooler_tower::refresh::RefreshPolicy;
    ///
    /// let policy = RefreshPolicy::default().with_retry_backoff(Duration::from_secs(10));
    /// assert_eq!(policy.retry_delay(1), Duration::from_secs(10));
    /// assert_eq!(policy.retry_delay(3), Duration::from_secs(40));
    /// assert_eq!(policy.retry_delay(50), Duration::from_secs(320));
    /// ```
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(5);
        self.retry_backoff.saturating_mul(1 << doublings)
    }
}

/// How usable a held access token is right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Valid and not yet within the margin.
    Fresh,
    /// Still valid, but due for a refresh.
    Due,
    /// Past its `exp`: upstream will refuse it.
    Expired,
}

/// An access token with what the refresher knows about it.
#[derive(Debug, Clone)]
pub(crate) struct HeldToken {
    /// The token.
    pub(crate) token: AccessToken,
    /// Its JWT `exp`, when it has one.
    pub(crate) exp: Option<SystemTime>,
    /// When this process refreshed it, or first saw it.
    pub(crate) since: SystemTime,
    /// Whether this process obtained it by a refresh (rather than reading it from the store).
    pub(crate) refreshed: bool,
}

impl HeldToken {
    /// A token read from the store (or another source), first seen at `now`.
    pub(crate) fn observed(token: AccessToken, now: SystemTime) -> Self {
        Self {
            exp: token_exp(&token),
            token,
            since: now,
            refreshed: false,
        }
    }

    /// A token this process just obtained by a refresh.
    pub(crate) fn refreshed(token: AccessToken, now: SystemTime) -> Self {
        Self {
            refreshed: true,
            ..Self::observed(token, now)
        }
    }

    /// Whether it is fresh, due or expired at `now`.
    ///
    /// With an `exp`: due within `margin` of it, expired from it on. Without one (the Codex CLI's
    /// rule for tokens lacking `exp`): due once `max_age_without_exp` has passed since it was
    /// obtained, never known to be expired.
    pub(crate) fn freshness(&self, policy: &RefreshPolicy, now: SystemTime) -> Freshness {
        match self.exp {
            Some(exp) if now >= exp => Freshness::Expired,
            Some(exp) if now + policy.margin >= exp => Freshness::Due,
            Some(_) => Freshness::Fresh,
            None if now >= self.since + policy.max_age_without_exp => Freshness::Due,
            None => Freshness::Fresh,
        }
    }

    /// Whether this process refreshed it less than `min_interval` ago.
    pub(crate) fn just_refreshed(&self, policy: &RefreshPolicy, now: SystemTime) -> bool {
        self.refreshed && now < self.since + policy.min_interval
    }
}

/// The JWT `exp` of an access token, if it is a JWT that has one.
pub(crate) fn token_exp(token: &AccessToken) -> Option<SystemTime> {
    IdClaims::from_jwt(token.expose())
        .ok()
        .and_then(|claims| claims.exp)
        .map(from_unix_seconds)
}

/// Whether `candidate` should replace `held` as the newest known token: a later `exp` wins; when
/// either has no `exp` (or both expire together) the candidate wins, since it is news.
pub(crate) fn is_newer(candidate: &HeldToken, held: &HeldToken) -> bool {
    match (candidate.exp, held.exp) {
        (Some(c), Some(h)) => c >= h,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::testing::fake_jwt;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn jwt(exp: u64) -> AccessToken {
        AccessToken::new(fake_jwt(&serde_json::json!({ "exp": exp })))
    }

    #[test]
    fn exp_drives_freshness_with_a_margin() {
        let policy = RefreshPolicy::default();
        let held = HeldToken::observed(jwt(10_000), at(0));
        assert_eq!(held.exp, Some(at(10_000)));
        assert_eq!(held.freshness(&policy, at(9_699)), Freshness::Fresh);
        assert_eq!(held.freshness(&policy, at(9_700)), Freshness::Due);
        assert_eq!(held.freshness(&policy, at(9_999)), Freshness::Due);
        assert_eq!(held.freshness(&policy, at(10_000)), Freshness::Expired);
    }

    #[test]
    fn tokens_without_exp_follow_the_eight_day_rule() {
        let policy = RefreshPolicy::default();
        let held = HeldToken::observed(AccessToken::new("opaque"), at(1_000));
        assert_eq!(held.exp, None);
        let eight_days = 8 * 24 * 3600;
        assert_eq!(
            held.freshness(&policy, at(1_000 + eight_days - 1)),
            Freshness::Fresh
        );
        assert_eq!(
            held.freshness(&policy, at(1_000 + eight_days)),
            Freshness::Due
        );
        assert_eq!(
            held.freshness(&policy, at(1_000 + 100 * eight_days)),
            Freshness::Due,
            "never known to be expired"
        );
    }

    #[test]
    fn later_exp_is_newer() {
        let old = HeldToken::observed(jwt(100), at(0));
        let new = HeldToken::observed(jwt(200), at(0));
        assert!(is_newer(&new, &old));
        assert!(!is_newer(&old, &new));
        let opaque = HeldToken::observed(AccessToken::new("opaque"), at(0));
        assert!(is_newer(&opaque, &new), "without exp, news wins");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = RefreshPolicy::default().with_retry_backoff(Duration::from_millis(100));
        let delays: Vec<_> = (1..=8).map(|n| policy.retry_delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 3200, 3200]);
        assert_eq!(policy.retry_delay(0).as_millis(), 100);
    }

    #[test]
    fn just_refreshed_only_counts_own_refreshes() {
        let policy = RefreshPolicy::default();
        let ours = HeldToken::refreshed(jwt(10_000), at(100));
        assert!(ours.just_refreshed(&policy, at(129)));
        assert!(!ours.just_refreshed(&policy, at(130)));
        let seen = HeldToken::observed(jwt(10_000), at(100));
        assert!(!seen.just_refreshed(&policy, at(101)));
    }
}

"""Daily follower and following counts of a chunk of accounts, by audience component.

One dense (accounts x days) matrix per component, built with cumulative sums:

- real followers: organic daily gains (Poisson around the account's growth
  rate, quieter at weekends) minus unfollows; viral spikes; follow-backs and
  unfollow-backs of follow/unfollow churn;
- organic spam: bots that follow celebrities by themselves, in proportion to
  real gains (no bursts);
- market fakes: purchases delivered over days (bulk, premium) or weeks to
  months (drip), as ``TacticRanges`` draws them, then perhaps partly purged
  by the platform in one day.

The per-day gains double as the weights from which the follower sample draws
``followed_at``, so the sample and the history tell the same story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trueclout.training.sim import randomness as rnd
from trueclout.training.sim.plan import DAY, Plan

UNFOLLOW_RATE = 3e-4  # share of real followers leaving per day
WEEKEND_FACTOR = 0.85
VIRAL_SHAPE = np.array([0.55, 0.25, 0.12, 0.08])  # share of a viral jump on days 0..3
CHURN_FOLLOW_BACK_SHAPE = np.array([0.5, 0.3, 0.2])
# Organic follow and unfollow sittings: chance per day and median size (log-sd 0.8).
FOLLOW_SESSION_CHANCE = 1 / 14
FOLLOW_SESSION_SIZE = 8.0
UNFOLLOW_SESSION_CHANCE = 1 / 30
UNFOLLOW_SESSION_SIZE = 6.0


@dataclass(frozen=True)
class Histories:
    """Counts at the end of each history day (accounts x days) and per-day gains."""

    real: np.ndarray
    spam: np.ndarray
    market: np.ndarray
    following: np.ndarray
    alive: np.ndarray
    real_gain: np.ndarray
    viral_gain: np.ndarray
    spam_gain: np.ndarray
    market_gain: np.ndarray
    real_before: np.ndarray
    spam_before: np.ndarray

    @property
    def followers(self) -> np.ndarray:
        return (self.real + self.spam + self.market).astype(np.int64)

    @property
    def followers_now(self) -> np.ndarray:
        return self.followers[:, -1]

    @property
    def fake_share(self) -> np.ndarray:
        total = self.followers_now
        fakes = (self.spam + self.market)[:, -1]
        return np.where(total > 0, fakes / np.maximum(total, 1), 0.0)


def simulate_histories(plan: Plan, idx: np.ndarray) -> Histories:
    """Follower and following series of the accounts ``idx`` over the history window."""
    H = plan.days
    n = len(idx)
    d = np.arange(H)[None, :]
    k = plan.key[idx]
    ck = rnd.key(k[:, None], d)
    first = plan.first_day[idx][:, None]
    alive = np.broadcast_to(d >= first, (n, H))
    weekday = (plan.day0 // DAY + d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    week = np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)

    growth = plan.growth[idx][:, None]
    lam = growth * week * rnd.lognormal(ck, "gain-noise", 1.0, 0.35)
    real_gain = np.where(alive, rnd.poisson(ck, "gain", lam), 0).astype(np.float64)

    offset = d - plan.viral_day[idx][:, None]
    in_spike = (plan.viral_day[idx][:, None] >= 0) & (offset >= 0) & (offset < len(VIRAL_SHAPE))
    spike = VIRAL_SHAPE[np.clip(offset, 0, len(VIRAL_SHAPE) - 1)]
    viral_lam = np.where(in_spike, plan.viral_size[idx][:, None] * spike
                         * rnd.lognormal(ck, "viral-noise", 1.0, 0.15), 0.0)
    viral_gain = rnd.poisson(ck, "viral", viral_lam).astype(np.float64)

    expected = plan.followers_start[idx][:, None] + growth * np.maximum(d - first, 0)
    losses = np.where(alive, rnd.poisson(ck, "loss", expected * UNFOLLOW_RATE), 0)

    following, fb_gain, fb_loss = _churn(plan, idx, ck, d)
    real_gain += fb_gain
    net = (real_gain + viral_gain - losses - fb_loss) * alive
    real_before = plan.followers_start[idx].astype(np.float64)
    real = np.maximum(real_before[:, None] + np.cumsum(net, axis=1), 0)

    share = plan.spam_share[idx][:, None]
    ratio = share / (1.0 - share)
    spam_gain = rnd.poisson(ck, "spam", (real_gain + viral_gain) * ratio).astype(np.float64)
    spam_before = np.rint(real_before * ratio[:, 0])
    spam = spam_before[:, None] + np.cumsum(spam_gain * alive, axis=1)

    delivered = _deliveries(plan, idx, ck, d)
    purge_day = plan.purge_day[idx][:, None]
    purge_share = plan.purge_share[idx][:, None]
    bought = np.cumsum(delivered, axis=1)
    removed = np.where((purge_day >= 0) & (d >= purge_day),
                       np.rint(purge_share * np.take_along_axis(
                           bought, np.maximum(purge_day, 0), axis=1)), 0.0)
    market = bought - removed
    return Histories(
        real=real, spam=spam, market=market, following=following, alive=alive,
        real_gain=real_gain * alive, viral_gain=viral_gain * alive,
        spam_gain=spam_gain * alive, market_gain=delivered * (1.0 - purge_share),
        real_before=real_before, spam_before=spam_before,
    )


def _deliveries(plan: Plan, idx: np.ndarray, ck: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Purchased fakes arriving each day: uneven over a short delivery, even over a drip."""
    start = plan.buy_day[idx][:, None]
    length = plan.buy_len[idx][:, None]
    inside = (start >= 0) & (d >= start) & (d < start + length)
    weight = np.where(inside, rnd.between(ck, "deliver", 0.5, 1.0), 0.0)
    total = weight.sum(axis=1, keepdims=True)
    return np.rint(plan.buy_size[idx][:, None] * weight / np.where(total > 0, total, 1.0))


def _churn(plan: Plan, idx: np.ndarray, ck: np.ndarray, d: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Following counts; for churners, waves of mass follows and the follow-backs they earn.

    A churn tool follows a wave of ``size`` accounts at its daily limit, keeps
    the share that followed back, and ``hold`` days after the wave began
    unfollows the rest at the same pace, every ``period`` days (the kept
    follow-backs accumulate).  Of those who followed back, some notice the
    unfollow and leave.  Genuine accounts may have one follow spree or one
    clean-up (``event_*``): a change in one direction, never a cycle.
    """
    n, H = ck.shape
    k = plan.key[idx]
    base = plan.following_start[idx][:, None]
    # People follow a few accounts most days, and now and then a batch in one
    # sitting (a thread of recommendations) or tidy up a handful: organic
    # following wobbles both ways without cycling.
    follows = rnd.poisson(ck, "follows", 0.3) + np.where(
        rnd.chance(ck, "follow-session", FOLLOW_SESSION_CHANCE),
        np.rint(rnd.lognormal(ck, "follow-session-size", FOLLOW_SESSION_SIZE, 0.8)), 0)
    unfollows = rnd.poisson(ck, "unfollows", 0.2) + np.where(
        rnd.chance(ck, "unfollow-session", UNFOLLOW_SESSION_CHANCE),
        np.rint(rnd.lognormal(ck, "unfollow-session-size", UNFOLLOW_SESSION_SIZE, 0.8)), 0)
    drift = np.cumsum(follows - unfollows, axis=1)
    following = np.maximum(base + drift + _following_event(plan, idx, d), 0)
    fb_gain = np.zeros((n, H))
    fb_loss = np.zeros((n, H))
    churn = plan.churn[idx]
    if not churn.any():
        return following, fb_gain, fb_loss
    rows = np.flatnonzero(churn)
    period = plan.churn_period[idx][rows, None]
    hold = plan.churn_hold[idx][rows, None]
    since = d - plan.churn_phase[idx][rows, None] + period  # waves began before the window
    wave = since // period
    phase = since % period
    size = plan.churn_size[idx][rows, None] * rnd.lognormal(rnd.key(k[rows, None], wave),
                                                            "wave-size", 1.0, 0.2)
    ramp = np.maximum(1.0, np.ceil(plan.churn_size[idx][rows, None]
                                   / np.maximum(plan.churn_limit[idx][rows, None], 1.0)))
    ramp = np.minimum(ramp, np.maximum(1, np.minimum(hold, period - hold)))
    kept = plan.churn_followback[idx][rows, None]
    following_up = np.minimum(phase + 1, ramp) / ramp
    unfollowed = np.clip((phase - hold + 1) / ramp, 0, 1)
    held = np.where(phase < hold, following_up, 1.0 - (1.0 - kept) * unfollowed)
    mean_size = plan.churn_size[idx][rows, None]
    following[rows] += np.rint(size * held + wave * kept * mean_size)
    back = size * kept
    shape = np.append(CHURN_FOLLOW_BACK_SHAPE, 0.0)
    gain_share = shape[np.minimum(phase, len(shape) - 1)]
    loss_share = shape[np.clip(phase - hold, 0, len(shape) - 1)] * (phase >= hold)
    fb_gain[rows] = rnd.poisson(ck[rows], "follow-back", back * gain_share)
    fb_loss[rows] = rnd.poisson(ck[rows], "unfollow-back",
                                back * plan.churn_unfollowback[idx][rows, None] * loss_share)
    return following, fb_gain, fb_loss


def _following_event(plan: Plan, idx: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The one-off change of a genuine account's following, spread over its days."""
    day = plan.event_day[idx][:, None]
    length = np.maximum(plan.event_len[idx][:, None], 1)
    done = np.clip((d - day + 1) / length, 0, 1) * (day >= 0)
    return np.rint(plan.event_size[idx][:, None] * done)

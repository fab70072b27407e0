"""Counter-based randomness: every draw is a pure function of (seed, key, stream).

The simulator never advances a shared generator.  Each random value is a
hash (the splitmix64 finaliser, a bijection on 64-bit integers) of the world
seed, the identity of the thing it belongs to (an account, a post, a
follower slot) and the name of the quantity.  Three properties follow, and the
simulator relies on all of them:

- a chunk of accounts can be generated without generating the others, and
  the result does not depend on the chunk size;
- two chunks can compute the same fact independently (a ring member's
  repost, seen once from the reposting account and once from the author);
- one person (a follower, an engager) has the same profile wherever it
  appears, because the profile is a function of the person's key.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
from scipy import special

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = U64(30), U64(27), U64(31), U64(11)
_TO_UNIT = 2.0**-53


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixing map of uint64 arrays (a new array)."""
    with np.errstate(over="ignore"):
        z = np.add(np.asarray(x, dtype=U64), _GOLDEN)  # wraps modulo 2**64
        z ^= z >> _S30
        z *= _M1
        z ^= z >> _S27
        z *= _M2
        z ^= z >> _S31
        return z


@cache
def tag(name: str) -> np.uint64:
    """A stable 64-bit constant for a stream name (never Python's randomised ``hash``)."""
    return U64(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little"))


def key(*parts: np.ndarray | int | str) -> np.ndarray:
    """Combine integers, arrays (broadcast) and names into one uint64 key per element."""
    h = np.asarray(U64(0x243F6A8885A308D3))
    for part in parts:
        value = tag(part) if isinstance(part, str) else np.asarray(part).astype(U64)
        h = mix64(h ^ value)
    return np.asarray(h, dtype=U64)


def bits(k: np.ndarray, stream: str) -> np.ndarray:
    """64 random bits per key for the named stream."""
    return mix64(np.asarray(k, dtype=U64) ^ tag(stream))


def uniform(k: np.ndarray, stream: str) -> np.ndarray:
    """Uniform floats in the open interval (0, 1)."""
    b = bits(k, stream)
    b >>= _S11
    u = b.astype(np.float64)
    u += 0.5
    u *= _TO_UNIT
    return u


def normal(k: np.ndarray, stream: str) -> np.ndarray:
    return special.ndtri(uniform(k, stream))


def lognormal(k: np.ndarray, stream: str, median: float | np.ndarray,
              sigma: float | np.ndarray) -> np.ndarray:
    """Log-normal draws given the median and the standard deviation of the log."""
    return np.asarray(median) * np.exp(np.asarray(sigma) * normal(k, stream))


def between(k: np.ndarray, stream: str, low: float | np.ndarray,
            high: float | np.ndarray) -> np.ndarray:
    low = np.asarray(low, dtype=np.float64)
    return low + (np.asarray(high, dtype=np.float64) - low) * uniform(k, stream)


def log_between(k: np.ndarray, stream: str, low: float | np.ndarray,
                high: float | np.ndarray) -> np.ndarray:
    """Log-uniform draws: as likely to fall in [1, 10] as in [10, 100]."""
    return np.exp(between(k, stream, np.log(low), np.log(high)))


def integers(k: np.ndarray, stream: str, high: np.ndarray | int) -> np.ndarray:
    """Integers in ``[0, high)`` (``high`` >= 1, per element or scalar)."""
    high = np.asarray(high, dtype=np.int64)
    return np.minimum((uniform(k, stream) * high).astype(np.int64), np.maximum(high - 1, 0))


def chance(k: np.ndarray, stream: str, p: float | np.ndarray) -> np.ndarray:
    return uniform(k, stream) < p


def choice(k: np.ndarray, stream: str, weights: np.ndarray | list[float]) -> np.ndarray:
    """Index of a category drawn with the given (unnormalised) weights."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    picked = np.searchsorted(cum, uniform(k, stream) * cum[-1], side="right")
    return np.minimum(picked, len(cum) - 1)


def choice_rows(k: np.ndarray, stream: str, weights: np.ndarray) -> np.ndarray:
    """Like ``choice`` with one row of weights per key (``weights`` is keys x categories)."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64), axis=1)
    u = uniform(k, stream) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def poisson(k: np.ndarray, stream: str, lam: np.ndarray | float) -> np.ndarray:
    """Poisson counts by inversion (exact below 30, normal approximation above)."""
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), np.shape(k))
    u = uniform(k, stream)
    out = np.empty(lam.shape, dtype=np.int64)
    small = lam < 30.0
    if small.any():
        # Inverse CDF with a bounded number of vectorised steps (P(X > 80 | lam < 30) ~ 0).
        ls, us = lam[small], u[small]
        term = np.exp(-ls)
        cdf = term.copy()
        count = np.zeros(ls.shape, dtype=np.int64)
        for n in range(1, 90):
            below = us > cdf
            if not below.any():
                break
            count += below
            term = term * ls / n
            cdf = cdf + term
        out[small] = count
    big = ~small
    if big.any():
        lb = lam[big]
        out[big] = np.maximum(np.rint(lb + np.sqrt(lb) * special.ndtri(u[big])), 0)
    return out


def gamma_share(k: np.ndarray, stream: str, mean: float, concentration: float) -> np.ndarray:
    """A share in (0, 1) around ``mean`` (Beta by inversion); larger concentration = tighter."""
    a = mean * concentration
    b = (1.0 - mean) * concentration
    return special.betaincinv(a, b, uniform(k, stream))

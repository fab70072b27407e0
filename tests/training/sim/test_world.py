"""The synthetic world: deterministic, valid against the contract, and true to its labels."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trueclout.cli import main
from trueclout.contract import AccountSnapshot
from trueclout.errors import UserError
from trueclout.io import read_tables
from trueclout.tables import TABLE_NAMES, tables_to_snapshots
from trueclout.training.sim.history import simulate_histories
from trueclout.training.sim.params import KINDS, TacticRanges, WorldParams
from trueclout.training.sim.plan import RING_GROUP, make_plan, pod_windows
from trueclout.training.sim.samples import SAMPLES
from trueclout.training.sim.world import (
    FOLLOWER_LABEL_SCHEMA,
    LABEL_SCHEMA,
    simulate_world,
    write_world,
)

REPO = Path(__file__).resolve().parents[3]
EVERY_KIND = dict.fromkeys(KINDS, 1.0)
ID_PATTERNS = {
    "twitter": r"[1-9]\d{18}",
    "tiktok": r"[1-9]\d{18}",
    "instagram": r"[1-9]\d{16}",
    "youtube": r"UC[A-Za-z0-9_-]{22}",
}


@pytest.fixture(scope="module")
def world():
    """Every kind well represented; small follower samples keep it fast."""
    return simulate_world(450, seed=11, followers_sample=40, kind_weights=EVERY_KIND)


@pytest.fixture(scope="module")
def frames(world) -> dict[str, pd.DataFrame]:
    out = {name: table.to_pandas() for name, table in world.tables.items()}
    out["labels"] = world.labels.to_pandas()
    out["follower_labels"] = world.follower_labels.to_pandas()
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- determinism -------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    write_world(tmp_path / "a", 60, 3, formats="both", followers_sample=20)
    write_world(tmp_path / "b", 60, 3, formats="both", followers_sample=20)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b
    assert set(a) == {*(f"{t}.parquet" for t in TABLE_NAMES), "labels.parquet",
                      "follower_labels.parquet", "snapshots.jsonl", "manifest.json"}


def test_different_seeds_give_different_worlds(tmp_path: Path) -> None:
    one = write_world(tmp_path / "a", 60, 3, followers_sample=20)
    two = write_world(tmp_path / "b", 60, 4, followers_sample=20)
    for name in ("profiles.parquet", "engagements.parquet", "followers.parquet",
                 "labels.parquet"):
        assert one["files"][name]["sha256"] != two["files"][name]["sha256"], name


def test_chunk_size_does_not_change_the_world() -> None:
    whole = simulate_world(120, seed=5, followers_sample=15, kind_weights=EVERY_KIND)
    chunked = simulate_world(120, seed=5, followers_sample=15, kind_weights=EVERY_KIND,
                             chunk_accounts=17)
    for name, table in whole.tables.items():
        assert table.equals(chunked.tables[name]), name
    assert whole.labels.equals(chunked.labels)
    assert whole.follower_labels.equals(chunked.follower_labels)


def test_manifest_records_seed_parameters_and_digests(tmp_path: Path) -> None:
    manifest = write_world(tmp_path, 25, 9, followers_sample=10, engagement_scale=0.5)
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["seed"] == 9 and manifest["accounts"] == 25
    assert manifest["parameters"]["engagement_scale"] == 0.5
    assert manifest["parameters"]["observed_at"] == "2026-06-01T00:00:00Z"
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == entry["sha256"]
    assert manifest["rows"]["profiles"] == 25


# --- contract ----------------------------------------------------------------------------


def test_every_snapshot_of_a_small_world_validates() -> None:
    small = simulate_world(90, seed=2, followers_sample=12, kind_weights=EVERY_KIND)
    small.tables.validate_schema()
    snapshots = list(tables_to_snapshots(small.tables))  # validates each one
    assert len(snapshots) == 90
    assert {s.platform for s in snapshots} == {"twitter", "instagram", "tiktok", "youtube"}


def test_tables_have_contract_schemas_and_labels_theirs(world) -> None:
    world.tables.validate_schema()
    assert world.labels.schema.equals(LABEL_SCHEMA)
    assert world.follower_labels.schema.equals(FOLLOWER_LABEL_SCHEMA)
    assert world.labels.column("account_id").to_pylist() == \
        world.tables.profiles.column("account_id").to_pylist()


def test_post_ids_are_unique_across_the_world(frames) -> None:
    assert frames["posts"].post_id.is_unique
    assert frames["profiles"].account_id.is_unique


def test_platform_fields_are_null_where_the_platform_hides_them(frames) -> None:
    prof = frames["profiles"]
    others = prof[prof.platform != "twitter"]
    assert others.listed_count.isna().all() and others.likes_count.isna().all()
    assert prof[prof.platform == "twitter"].listed_count.notna().all()
    assert prof[prof.platform.isin(["instagram", "tiktok"])].location.isna().all()
    posts = frames["posts"].merge(prof[["account_id", "platform"]], on="account_id")
    assert posts[posts.platform.isin(["instagram", "youtube"])].reposts_count.isna().all()
    assert posts[posts.platform == "twitter"].reposts_count.notna().all()
    hist = frames["follower_history"].merge(prof[["account_id", "platform"]], on="account_id")
    assert hist[hist.platform == "youtube"].following.isna().all()
    assert hist[hist.platform != "youtube"].following.notna().all()


# --- labels agree with the data -----------------------------------------------------------


def test_label_semantics(frames) -> None:
    lab = frames["labels"]
    assert set(lab.kind) <= set(KINDS)
    bought = lab.market.notna()
    assert (lab.bought_followers == bought.astype(int)).all()
    assert (lab.engagement_ring == lab.kind.str.contains("ring_member").astype(int)).all()
    bursty = lab.market.isin(["bulk_crude", "bulk_farm", "premium"]) | lab.kind.str.contains(
        "churn")
    assert (lab.growth_burst == bursty.astype(int)).all()
    drip_only = lab.kind == "bought_drip"
    assert drip_only.any() and (lab.growth_burst[drip_only] == 0).all()
    rings = lab[lab.engagement_ring == 1]
    assert rings.group_id.str.fullmatch(r"ring-\d{5}").all()
    assert lab[(lab.bought_followers == 1) & (lab.engagement_ring == 0)].group_id.str.contains(
        "-lot-").all()
    genuine = (lab.bought_followers + lab.engagement_ring + lab.growth_burst) == 0
    assert 0.2 < genuine.mean() < 0.6  # every kind equally likely in this fixture


def test_default_mix_is_mostly_genuine() -> None:
    lab = simulate_world(600, seed=1, followers_sample=1).labels.to_pandas()
    genuine = (lab.bought_followers + lab.engagement_ring + lab.growth_burst) == 0
    assert 0.62 <= genuine.mean() <= 0.78
    assert (lab.kind.str.count(r"\+") > 0).sum() >= 10  # combined tactics exist


def test_fake_share_is_a_share_and_zero_for_clean_accounts(frames) -> None:
    lab = frames["labels"]
    assert lab.fake_share.between(0, 1).all()
    clean = (lab.bought_followers == 0) & (lab.base_kind != "celebrity")
    assert (lab.fake_share[clean] == 0).all()
    assert (lab.fake_share[lab.base_kind == "celebrity"] > 0).all()
    assert (lab.fake_share[lab.bought_followers == 1] > 0).all()


def test_follower_labels_match_followers_rows(frames) -> None:
    fol, fl = frames["followers"], frames["follower_labels"]
    pd.testing.assert_frame_equal(fol[["account_id", "position", "follower_id"]],
                                  fl[["account_id", "position", "follower_id"]])
    assert ((fl.is_fake == 1) == fl.market.notna()).all()
    assert set(fl.market.dropna()) <= {"bulk_crude", "bulk_farm", "drip", "premium",
                                       "organic_spam"}


def test_follower_sample_is_newest_first_and_mirrors_the_audience(frames, world) -> None:
    fol, fl, lab = frames["followers"], frames["follower_labels"], frames["labels"]
    prof = frames["profiles"].set_index("account_id")
    size = fol.groupby("account_id").size()
    expected = np.minimum(world.params.followers_sample, prof.followers_count)
    assert (size.reindex(prof.index, fill_value=0) == expected).all()
    assert (fol.groupby("account_id").position.apply(
        lambda p: list(p) == list(range(len(p))))).all()
    assert (fol.groupby("account_id").followed_at.apply(
        lambda t: t.is_monotonic_decreasing)).all()
    assert (fol.followed_at >= fol.created_at).all()
    # Stratified: the sample's fake share is the audience's, to within one follower.
    sample_share = fl.groupby("account_id").is_fake.mean()
    true_share = lab.set_index("account_id").fake_share.reindex(sample_share.index)
    assert (np.abs(sample_share - true_share) <= 1.0 / size.reindex(sample_share.index)
            + 1e-9).all()


def test_bulk_purchases_arrive_in_a_jump_of_a_few_days(frames) -> None:
    lab = frames["labels"].set_index("account_id")
    hist = frames["follower_history"].sort_values(["account_id", "date"])
    hist["delta"] = hist.groupby("account_id").followers.diff()
    bulk = lab.index[lab.kind.isin(["bought_bulk", "new_thin+bought_bulk"])]
    steady = lab.index[lab.kind == "steady"]
    assert len(bulk) >= 10 and len(steady) >= 10
    days = int(TacticRanges().bulk_days[1])

    def jump(account: str) -> float:
        d = hist.loc[hist.account_id == account, "delta"].dropna().to_numpy()
        if len(d) < 4 * days:  # a new account: too few days to know its usual day
            return np.inf
        typical = np.median(np.abs(d)) + 1
        return max(np.convolve(d, np.ones(w), mode="valid").max() / (typical * w)
                   for w in range(1, days + 1))

    assert min(jump(a) for a in bulk) > 30
    assert np.median([jump(a) for a in steady]) < 10


def test_viral_spikes_bring_followers_and_engagement_on_the_same_days(frames) -> None:
    lab = frames["labels"]
    viral = lab.account_id[lab.kind == "viral"]
    assert len(viral) >= 10
    hist = frames["follower_history"].sort_values(["account_id", "date"])
    hist["delta"] = hist.groupby("account_id").followers.diff()
    eng = frames["engagements"]
    eng_day = eng.assign(date=eng["at"].dt.date).groupby(["account_id", "date"]).size()
    for account in viral:
        h = hist[hist.account_id == account]
        follower_peak = h.loc[h.delta.idxmax(), "date"]
        engagement_peak = eng_day.loc[account].idxmax()
        assert abs((engagement_peak - follower_peak).days) <= 1, account


def _engagement_around_biggest_jump(frames, accounts) -> np.ndarray:
    """Engagement rows in the 3 days from the largest follower gain, over a typical 3 days."""
    hist = frames["follower_history"].sort_values(["account_id", "date"])
    hist["delta"] = hist.groupby("account_id").followers.diff()
    eng = frames["engagements"]
    per_day = eng.assign(date=eng["at"].dt.date).groupby(["account_id", "date"]).size()
    out = []
    for account in accounts:
        h = hist[hist.account_id == account]
        jump_day = h.loc[h.delta.idxmax(), "date"]
        days = pd.date_range(h.date.min(), h.date.max()).date
        daily = (per_day.loc[account] if account in per_day.index.get_level_values(0)
                 else pd.Series(dtype=float)).reindex(days, fill_value=0)
        window = daily[(daily.index >= jump_day)
                       & (daily.index <= jump_day + pd.Timedelta(days=2))].sum()
        out.append(window / (daily.rolling(3).sum().mean() + 1))
    return np.array(out)


def test_organic_spikes_bring_engagement_purchases_do_not(frames) -> None:
    lab = frames["labels"]
    viral = _engagement_around_biggest_jump(frames, lab.account_id[lab.kind == "viral"])
    bulk = _engagement_around_biggest_jump(frames, lab.account_id[lab.kind == "bought_bulk"])
    assert np.quantile(viral, 0.1) > 3 * np.quantile(bulk, 0.9)


def test_churn_cycles_its_following_and_organic_changes_go_one_way() -> None:
    """Churn follows and unfollows wave after wave (gross turnover well beyond the net
    change); a genuine spree or clean-up moves the following count once, one way."""
    params = WorldParams(kind_weights={"churn": 1, "steady": 1},
                         tactics=TacticRanges(following_event_chance=1.0))
    plan = make_plan(600, 5, params)
    idx = np.arange(plan.n)
    following = simulate_histories(plan, idx).following
    step = np.diff(following, axis=1)
    turnover = np.abs(step).sum(axis=1) - np.abs(step.sum(axis=1))
    churn = plan.churn & (plan.churn_period <= plan.days // 3)
    assert churn.sum() >= 50
    # At least two whole waves: followed and unfollowed, each at least wave-sized.
    full_waves = 2 * 2 * plan.churn_size * (1 - plan.churn_followback) * 0.6
    assert (turnover[churn] >= full_waves[churn]).mean() > 0.95
    event = (plan.event_day >= 0) & (plan.event_day < plan.days - 4) & ~plan.churn
    assert event.sum() >= 50
    size = np.abs(plan.event_size[event])
    # An event well above the organic wobble (about a follow a day) never comes back.
    big = size >= 4 * plan.days
    assert big.sum() >= 20
    assert np.all(turnover[event][big] < 0.5 * size[big] + 2 * plan.days)


def test_ring_members_engage_each_other_in_rounds_or_within_a_window(world, frames) -> None:
    lab = frames["labels"].set_index("account_id")
    group = lab.group_id.where(lab.engagement_ring == 1)
    eng = frames["engagements"].merge(frames["posts"][["post_id", "created_at"]], on="post_id")
    eng["delay"] = (eng["at"] - eng["created_at"]).dt.total_seconds()
    eng["author_ring"] = eng.account_id.map(group)
    eng["actor_ring"] = eng.actor_id.map(group)
    among = eng.dropna(subset=["author_ring", "actor_ring"])
    assert len(among) > 0
    # A ring member's ring engagement always comes from its own ring.
    assert (among.author_ring == among.actor_ring).all()
    members_with_posts = set(eng.account_id[eng.author_ring.notna()])
    assert members_with_posts <= set(among.account_id)
    # Some pods run in rounds, others by a window rule (each member at its own moment).
    plan = make_plan(world.num_accounts, world.seed, world.params)
    assert among.author_ring.str.startswith(RING_GROUP).all()  # every id names a pod
    window = pd.Series(pod_windows(plan, among.author_ring.tolist()), index=among.index)
    rounds, windowed = among[window == 0], among[window > 0]
    assert len(rounds) > 0 and len(windowed) > 0
    # Pods are played at every pace, from seconds to hours after publication ...
    assert plan.ring_speed.min() < 5 * 60 and plan.ring_speed.max() > 3600
    assert among.groupby("author_ring").delay.median().max() > 3600
    # ... but members of one round arrive close together: per post, the spread of
    # their log-delays is below that of a genuine community, which engages at
    # human pace (hours) each on its own time.
    comm = lab.group_id.where(lab.kind == "community")
    tight = eng[eng.account_id.map(comm).notna()
                & (eng.account_id.map(comm) == eng.actor_id.map(comm))]
    assert len(tight) > 0 and tight.delay.median() > 3600

    def spread(rows: pd.DataFrame) -> float:
        per_post = np.log(rows.delay.clip(lower=1)).groupby(rows.post_id).agg(["std", "size"])
        return float(per_post["std"][per_post["size"] >= 4].median())

    assert spread(rounds) < 0.8 * spread(tight)
    # A window pod shares no round start: its members spread over the window, as loose
    # as a round pod is tight, and never past the window.
    assert spread(windowed) > spread(rounds)
    assert (windowed.delay <= window[window > 0] + 3).all()


def test_reposts_made_mirror_the_authors_engagements(frames) -> None:
    prof = frames["profiles"]
    rep = frames["reposts_made"]
    world_reposts = rep[rep.target_account_id.isin(prof.account_id)]
    assert len(world_reposts) > 0
    posts = frames["posts"].set_index("post_id")
    assert world_reposts.post_id.isin(posts.index).all()
    assert (posts.loc[world_reposts.post_id, "account_id"].to_numpy()
            == world_reposts.target_account_id.to_numpy()).all()
    eng = frames["engagements"]
    reposts_seen = eng[eng.kind == "repost"].rename(columns={
        "account_id": "target_account_id", "actor_id": "account_id"})
    matched = world_reposts.merge(reposts_seen, on=["account_id", "target_account_id",
                                                    "post_id", "at"], how="left",
                                  indicator=True)
    assert (matched["_merge"] == "both").all()
    # Ring members' world reposts go to their own ring.
    lab = frames["labels"].set_index("account_id")
    ring = lab.group_id.where(lab.engagement_ring == 1)
    from_rings = world_reposts[world_reposts.account_id.map(ring).notna()
                               & world_reposts.target_account_id.map(ring).notna()]
    assert len(from_rings) > 0
    assert (from_rings.account_id.map(ring) == from_rings.target_account_id.map(ring)).all()


def test_engagements_follow_publication_and_stay_before_observation(frames, world) -> None:
    eng = frames["engagements"].merge(frames["posts"][["post_id", "account_id", "created_at"]],
                                      on=["post_id", "account_id"], how="left")
    assert eng.created_at.notna().all()
    assert (eng["at"] >= eng.created_at).all()
    assert (eng["at"] <= pd.Timestamp(world.params.observed_at)).all()
    assert not eng.duplicated(["post_id", "actor_id", "kind"]).any()


def test_post_totals_cover_the_sampled_engagements(frames) -> None:
    eng = frames["engagements"]
    counts = eng.groupby(["post_id", "kind"]).size().unstack(fill_value=0)
    posts = frames["posts"].set_index("post_id").loc[counts.index]
    assert (posts.likes_count >= counts.get("like", 0)).all()
    assert (posts.replies_count >= counts.get("reply", 0)).all()


def test_new_thin_accounts_look_thin_not_suspicious(frames) -> None:
    lab = frames["labels"].set_index("account_id")
    thin = lab.index[lab.kind == "new_thin"]
    assert len(thin) >= 10
    days = frames["follower_history"].groupby("account_id").size().reindex(thin)
    posts = frames["posts"].groupby("account_id").size().reindex(thin, fill_value=0)
    assert (days <= 101).all() and (posts <= 8).all()
    assert (lab.fake_share[thin] == 0).all()
    prof = frames["profiles"].set_index("account_id").loc[thin]
    assert (prof.followers_count < 1_000).all()


def test_ids_do_not_give_labels_away(frames) -> None:
    prof = frames["profiles"][["account_id", "platform"]]
    fol = frames["followers"].merge(prof, on="account_id")
    fl = frames["follower_labels"]
    actors = frames["engagements"].merge(prof, on="account_id")
    for platform, pattern in ID_PATTERNS.items():
        for ids in (prof.account_id[prof.platform == platform],
                    fol.follower_id[fol.platform == platform],
                    actors.actor_id[actors.platform == platform]):
            assert ids.str.fullmatch(pattern).all(), platform
    # Fake and real followers' ids are drawn from the same space: same lengths per platform.
    fol = fol.assign(is_fake=fl.is_fake.to_numpy(), length=fol.follower_id.str.len())
    for _, group in fol.groupby("platform"):
        assert set(group.length[group.is_fake == 1]) <= set(group.length[group.is_fake == 0])
    posts = frames["posts"]
    assert (posts.post_id.str.rsplit(":p", n=1).str[0] == posts.account_id).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 25), seed=st.integers(0, 2**31), sample=st.integers(0, 30))
def test_any_small_world_is_consistent(n: int, seed: int, sample: int) -> None:
    w = simulate_world(n, seed, followers_sample=sample)
    w.tables.validate_schema()
    assert w.num_accounts == n == w.labels.num_rows
    followers = np.asarray(w.tables.profiles.column("followers_count"))
    assert w.tables.followers.num_rows == np.minimum(sample, followers).sum()
    assert w.follower_labels.num_rows == w.tables.followers.num_rows
    share = np.asarray(w.labels.column("fake_share"))
    assert ((share >= 0) & (share <= 1)).all()


# --- options and errors --------------------------------------------------------------------


def test_engagement_scale_changes_rows_not_totals() -> None:
    full = simulate_world(40, 8, followers_sample=5)
    half = simulate_world(40, 8, followers_sample=5, engagement_scale=0.5)
    assert half.tables.engagements.num_rows < 0.8 * full.tables.engagements.num_rows
    assert half.tables.posts.column("likes_count").equals(full.tables.posts.column("likes_count"))


@pytest.mark.parametrize(("options", "message"), [
    ({"kind_weights": {"troll": 1.0}}, "unknown kind"),
    ({"followers_sample": -1}, "followers_sample"),
    ({"engagement_scale": 0}, "engagement_scale"),
    ({"observed_at": "2030-01-01T00:00:00Z"}, "future"),
])
def test_bad_options_are_refused_with_the_option_named(options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        simulate_world(5, 1, **options)


def test_zero_accounts_is_refused() -> None:
    with pytest.raises(UserError, match="accounts"):
        simulate_world(0, 1)


# --- CLI ---------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trueclout.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=REPO,
                          env=None if env is None else {**os.environ, **env})


@pytest.mark.slow
def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    for hash_seed in ("1", "2"):
        res = run_cli("simulate", "--accounts", "40", "--seed", "6", "--followers-sample", "8",
                      "--out", str(tmp_path / hash_seed), env={"PYTHONHASHSEED": hash_seed})
        assert res.returncode == 0, res.stderr
    assert _digests(tmp_path / "1") == _digests(tmp_path / "2")


def test_cli_writes_the_documented_layout(tmp_path: Path) -> None:
    out = tmp_path / "world"
    res = run_cli("simulate", "--accounts", "30", "--seed", "4", "--out", str(out),
                  "--followers-sample", "10", "--format", "both")
    assert res.returncode == 0, res.stderr
    assert "wrote 30 accounts" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {*(f"{t}.parquet" for t in TABLE_NAMES), "labels.parquet",
                                      "follower_labels.parquet", "snapshots.jsonl"}
    assert manifest["parameters"]["followers_sample"] == 10
    tables = read_tables(out)
    assert tables.num_accounts == 30
    labels = pq.read_table(out / "labels.parquet")
    assert labels.schema.equals(LABEL_SCHEMA) and labels.num_rows == 30
    lines = (out / "snapshots.jsonl").read_text().splitlines()
    assert len(lines) == 30
    assert AccountSnapshot.model_validate_json(lines[0]).account_id == \
        labels.column("account_id")[0].as_py()


@pytest.mark.parametrize(("args", "message"), [
    (["--accounts", "0"], "accounts: must be between 1"),
    (["--accounts", "5", "--format", "xml"], "format: must be one of"),
    (["--accounts", "5", "--observed-at", "2026-06-01"], "observed_at"),
    (["--accounts", "5", "--followers-sample", "-3"], "followers_sample"),
])
def test_cli_rejects_bad_arguments_clearly(tmp_path: Path, args: list[str], message: str
                                          ) -> None:
    res = run_cli("simulate", "--out", str(tmp_path / "w"), *args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "w").exists()


# --- samples -----------------------------------------------------------------------------


def test_samples_are_valid_small_and_regenerate_identically(tmp_path: Path) -> None:
    folder = REPO / "data" / "samples"
    assert main(["dev", "samples", str(tmp_path)]) == 0
    built = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert set(built) == {f"{name}.json" for name in SAMPLES}
    for name, text in built.items():
        assert (folder / name).read_text(encoding="utf-8") == text, f"{name} is stale"
        snap = AccountSnapshot.model_validate_json(text)
        wanted = SAMPLES[name.removesuffix(".json")]
        assert wanted.posts[0] <= len(snap.posts) <= wanted.posts[1]
        assert wanted.engagements[0] <= len(snap.engagements) <= wanted.engagements[1]
        assert len(snap.follower_history) <= 120 and snap.raw_score is not None


def test_ring_sample_shows_its_ring() -> None:
    snap = AccountSnapshot.model_validate_json(
        (REPO / "data" / "samples" / "ring_member.json").read_text())
    by_post = {p.post_id: p.created_at for p in snap.posts}
    fast = [e.actor_id for e in snap.engagements
            if (e.at - by_post[e.post_id]).total_seconds() < 15 * 60]
    reposted = {r.target_account_id for r in snap.reposts_made}
    assert len(fast) >= 10
    assert reposted & set(fast), "ring reciprocity: it reposts those who engage it fast"
    assert re.fullmatch(r"\d+", snap.account_id) or snap.account_id.startswith("UC")


# --- calibration against the research data (skipped where it is absent) -------------------


@pytest.mark.realdata
def test_timing_constants_match_their_fits(datasets_dir: Path) -> None:
    from trueclout.training.sim import params as p
    from trueclout.training.sim.calibration import fit_repost_delays

    fit = fit_repost_delays(datasets_dir / "retweet-timelines")
    assert fit.log_mean == pytest.approx(p.DELAY_LOG_MEAN, abs=0.05)
    pooled = np.hypot(p.DELAY_LOG_SD_BETWEEN, p.DELAY_LOG_SD_WITHIN)
    assert pooled == pytest.approx(fit.log_sd, abs=0.1)
    assert fit.sd_between_accounts == pytest.approx(p.DELAY_LOG_SD_BETWEEN, abs=0.1)


@pytest.mark.realdata
def test_every_profile_law_number_is_its_fit(datasets_dir: Path) -> None:
    """Each fitted number in sim.params is what a fresh fit gives (to its rounding)."""
    from trueclout.training.sim.calibration import LAW_SOURCES, compare_laws, fit_profiles

    fits = fit_profiles(datasets_dir)
    rows = compare_laws(fits)
    assert {law for law, *_ in rows} == set(LAW_SOURCES)
    for law, name, fitted, constant in rows:
        if name.endswith(".median"):
            assert constant == pytest.approx(fitted, rel=0.01), (law, name)
        else:
            assert constant == pytest.approx(fitted, abs=0.006), (law, name)


@pytest.mark.realdata
def test_market_lots_and_usernames_match_the_real_stocks(datasets_dir: Path) -> None:
    from trueclout.training.sim import params as p
    from trueclout.training.sim.calibration import fit_profiles, username_patterns

    fits = fit_profiles(datasets_dir)
    for group in ("cresci:INT", "cresci:FSF"):  # each real stock's age lies inside the lot range
        low, high = p.LOT_AGE_DAYS
        assert low < fits[group].counts["age_days"].median < high, group
    shares = username_patterns(datasets_dir / "cresci-2015")
    int_order = ("first+x", "last+x", "first+last(+x)", "last+x+first")
    assert p.INT_USERNAME_PATTERNS == pytest.approx([shares["INT"][k] for k in int_order],
                                                    abs=0.01)
    assert p.INT_USERNAME_DIGITS == pytest.approx(shares["INT"]["digits"], abs=0.005)
    assert p.FSF_USERNAME_PATTERNS[0] == pytest.approx(shares["FSF"]["last+x+first"], abs=0.005)
    assert p.FSF_USERNAME_PATTERNS[1] == pytest.approx(shares["FSF"]["first+last(+x)"],
                                                       abs=0.005)
    assert p.HUMAN_USERNAME_UPPER == pytest.approx(shares["E13"]["upper"], abs=0.005)
    assert p.HUMAN_USERNAME_DIGITS == pytest.approx(shares["E13"]["number_at_end"], abs=0.005)
    widths = [shares["E13"][f"number_width_{w}"] for w in ("1", "2", "3", "4", "5+")]
    assert p.HUMAN_USERNAME_DIGIT_WIDTHS == pytest.approx(widths, abs=0.005)
    assert p.HUMAN_DISPLAY_NAMES[0] == pytest.approx(shares["E13"]["display_two_words"],
                                                     abs=0.005)
    assert p.HUMAN_DISPLAY_NAMES[2] == pytest.approx(shares["E13"]["display_is_username"],
                                                     abs=0.005)

"""Tests of the synthetic network generator (riskmodel.generate): hard input rules, determinism, realism, speed."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.generate import KIND_ORDER, KIND_SHARES, LINK_COLUMNS, SITE_COLUMNS, generate_network, write_dataset

N = 2000
SEED = 7
TIER = {k: i for i, k in enumerate(KIND_ORDER)}


@pytest.fixture(scope="module")
def net():
    return generate_network(N, SEED)


def check_hard_rules(sites: pd.DataFrame, links: pd.DataFrame) -> None:
    """Assert every rule the importer enforces (PRODUCT.md section 2) on raw generated tables."""
    assert list(sites.columns) == SITE_COLUMNS
    assert list(links.columns) == LINK_COLUMNS
    ids = sites["site_id"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"[A-Za-z0-9_.:-]{1,64}").all()
    assert sites["kind"].isin(KIND_ORDER).all()
    assert sites["name"].str.len().gt(0).all()
    assert sites["country"].str.fullmatch(r"[A-Z]{3}").all()
    assert sites["lat"].between(-90, 90).all() and sites["lon"].between(-180, 180).all()
    # links reference existing sites, no duplicate (supplier, customer, material)
    assert links["supplier_id"].isin(ids).all() and links["customer_id"].isin(ids).all()
    assert not links.duplicated(["supplier_id", "customer_id", "material"]).any()
    assert links["material"].str.len().gt(0).all()
    assert links["status"].isin(["active", "backup"]).all()
    share = links["share"].dropna()
    assert ((share > 0) & (share <= 1)).all()
    assert (links["lead_time_days"] >= 0).all()
    backup = links[links["status"] == "backup"]
    assert (backup["qualification_weeks"] > 0).all()
    active = links[links["status"] == "active"]
    # the active links form a DAG, and every link goes up the tier order
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(zip(active["supplier_id"], active["customer_id"], strict=True))
    assert nx.is_directed_acyclic_graph(graph)
    tier = dict(zip(ids, sites["kind"].map(TIER), strict=True))
    assert (links["supplier_id"].map(tier) < links["customer_id"].map(tier)).all()
    # markets supply nobody and have a supplier; every other site supplies someone
    markets = ids[sites["kind"] == "market"]
    assert not links["supplier_id"].isin(markets).any()
    assert markets.isin(active["customer_id"]).all()
    assert ids[sites["kind"] != "market"].isin(active["supplier_id"]).all()
    # weekly demand > 0 for markets only
    is_market = sites["kind"] == "market"
    assert (sites.loc[is_market, "weekly_demand"] > 0).all()
    assert sites.loc[~is_market, "weekly_demand"].isna().all()


def test_hard_rules_2000(net):
    sites, links = net
    assert len(sites) == N
    check_hard_rules(sites, links)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(20, 600), seed=st.integers(0, 2**32 - 1))
def test_hard_rules_any_size_and_seed(n, seed):
    sites, links = generate_network(n, seed)
    assert len(sites) == n
    check_hard_rules(sites, links)


def test_same_seed_same_output(tmp_path):
    a_sites, a_links = generate_network(1500, 42)
    b_sites, b_links = generate_network(1500, 42)
    pd.testing.assert_frame_equal(a_sites, b_sites)
    pd.testing.assert_frame_equal(a_links, b_links)
    write_dataset(a_sites, a_links, tmp_path / "a")
    write_dataset(b_sites, b_links, tmp_path / "b")
    for name in ("sites.csv", "links.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_different_seeds_differ():
    a_sites, a_links = generate_network(500, 1)
    b_sites, b_links = generate_network(500, 2)
    assert not a_sites.equals(b_sites)
    assert not a_links.equals(b_links)


def test_too_small_or_bad_seed_raises():
    with pytest.raises(ValueError):
        generate_network(5, 0)
    with pytest.raises(ValueError):
        generate_network(100, -1)


def test_tier_proportions(net):
    sites, _ = net
    observed = sites["kind"].value_counts(normalize=True)
    for kind, share in KIND_SHARES.items():
        assert observed[kind] == pytest.approx(share, abs=0.005)
    assert sum(KIND_SHARES.values()) == pytest.approx(1.0)


def test_structure_is_realistic(net):
    sites, links = net
    kind = dict(zip(sites["site_id"], sites["kind"], strict=True))
    active = links[links["status"] == "active"]
    inputs = active.groupby("customer_id")["material"].nunique()
    by_kind = inputs.groupby(inputs.index.map(kind)).mean()
    # AND of several inputs where it belongs: fill-finish needs the drug plus primary packaging, CMO API + excipients
    assert by_kind["fill_finish"] >= 2.5
    assert by_kind["cmo"] >= 2.0
    assert by_kind["packaging"] >= 2.5
    assert by_kind["market"] == 1.0
    # OR: a good part of the inputs have 2+ suppliers, but single sourcing is common
    n_sup = active.groupby(["customer_id", "material"]).size()
    assert 0.2 < (n_sup >= 2).mean() < 0.7
    assert n_sup.max() >= 3
    # suppliers of one material all make that material (one output material per supplier)
    assert (links.groupby("supplier_id")["material"].nunique() == 1).all()
    # heavy-tailed popularity of raw-material suppliers: the busiest serves many times the median
    raw_out = active[active["supplier_id"].map(kind) == "raw_material"].groupby("supplier_id").size()
    assert raw_out.max() >= 8 * raw_out.median()
    # shares: most groups sum to 1, some are empty (equal split)
    groups = active.groupby(["customer_id", "material"])["share"]
    empty = groups.apply(lambda s: s.isna().all())
    sums = groups.sum()[~empty]
    assert 0.1 < empty.mean() < 0.4
    assert ((sums - 1).abs() < 0.01).mean() > 0.9
    # about 3 % backup links with a qualification time
    assert 0.015 < (links["status"] == "backup").mean() < 0.05
    assert (links.loc[links["status"] == "backup", "qualification_weeks"] == 26).mean() > 0.3
    # technologies on fill-finish, demand heavy-tailed, several countries in every region of the world
    ff = sites[sites["kind"] == "fill_finish"]
    assert ff["technology"].isin(["aseptic_vial", "lyophilized", "prefilled_syringe", "bfs", "lvp_bag"]).all()
    demand = sites["weekly_demand"].dropna()
    assert demand.max() > 10 * demand.median()
    assert sites["country"].nunique() >= 30
    assert {"CHN", "IND", "USA", "PRI", "IRL", "CHE", "SGP", "KOR"} <= set(sites["country"])
    assert (sites["city"] != "").all()
    # each city name belongs to one country
    assert (sites.groupby("city")["country"].nunique() == 1).all()


def test_key_starting_materials_mostly_from_china_and_india(net):
    sites, links = net
    ksm_makers = links.loc[links["material"].str.startswith("KSM-"), "supplier_id"].unique()
    country = sites.set_index("site_id").loc[ksm_makers, "country"]
    assert country.isin(["CHN", "IND"]).mean() > 0.6


def test_lead_times_grow_with_distance(net):
    sites, links = net
    pos = sites.set_index("site_id")[["lat", "lon"]]
    s = pos.loc[links["supplier_id"]].to_numpy()
    c = pos.loc[links["customer_id"]].to_numpy()
    far = np.hypot(s[:, 0] - c[:, 0], s[:, 1] - c[:, 1]) > 60  # roughly intercontinental
    near = np.hypot(s[:, 0] - c[:, 0], s[:, 1] - c[:, 1]) < 1
    lead = links["lead_time_days"].to_numpy()
    assert lead[far].mean() > 3 * lead[near].mean()


def test_write_dataset_round_trip(tmp_path, net):
    sites, links = net
    out = write_dataset(sites, links, tmp_path / "new" / "folder")
    assert sorted(p.name for p in out.iterdir()) == ["links.csv", "sites.csv"]
    raw = (out / "sites.csv").read_bytes()
    assert raw.startswith(b"site_id,name,kind,country,city,lat,lon,")
    back = pd.read_csv(out / "sites.csv", encoding="utf-8", keep_default_na=False, na_values=[""])
    assert len(back) == len(sites)
    assert list(back.columns) == SITE_COLUMNS
    assert np.allclose(back["lat"], sites["lat"]) and np.allclose(back["lon"], sites["lon"])
    back_links = pd.read_csv(out / "links.csv", encoding="utf-8", keep_default_na=False, na_values=[""])
    assert list(back_links.columns) == LINK_COLUMNS
    assert len(back_links) == len(links)
    assert back_links["share"].isna().sum() == links["share"].isna().sum()
    # writing again replaces the files
    write_dataset(sites.head(30), links.head(10), out)
    assert len(pd.read_csv(out / "sites.csv")) == 30


def test_10k_sites_is_fast(tmp_path):
    t0 = time.perf_counter()
    sites, links = generate_network(10_000, 3)
    write_dataset(sites, links, tmp_path)
    elapsed = time.perf_counter() - t0
    assert len(sites) == 10_000
    assert elapsed < 15.0, f"10k sites took {elapsed:.1f} s"


def test_output_passes_the_importer(tmp_path, net):
    validate = pytest.importorskip("riskmodel.validate")
    if not hasattr(validate, "validate_dataset"):
        pytest.skip("riskmodel.validate.validate_dataset not available")
    sites, links = net
    write_dataset(sites, links, tmp_path)
    report = validate.validate_dataset(tmp_path)
    assert report.valid, report.errors[:5]
    assert not report.errors
    # only the deliberate share-sum warnings (about 2 % of the (customer, material) groups)
    assert len(report.warnings) < 0.05 * len(links)

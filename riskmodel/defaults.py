"""Default values of the optional site columns, by kind (and country), with their sources.

Every default here is documented in ``docs/data-format.md`` and can be overridden per site in the data.
Sources are the facts of ``REFERENCE-FACTS.md`` (cited by name below); where a number is a judgement, it says so.
"""

from __future__ import annotations

__all__ = ["ANNUAL_DISRUPTION_PROB", "COUNTRY_HAZARD_FACTOR", "DEFAULT_SOURCES", "INVENTORY_DAYS", "SURGE", "TTR_WEEKS"]

#: days of normal output held as stock (markets: days of demand)
INVENTORY_DAYS: dict[str, float] = {
    "raw_material": 30.0,  # judgement: about a month of KSM / excipient / component stock at the supplier
    "api": 45.0,  # judgement: API makers hold 1-2 months of finished API
    "cmo": 30.0,  # judgement
    "fill_finish": 21.0,  # judgement: sterile products are made to order, little finished stock
    "packaging": 14.0,  # judgement
    "logistics": 0.0,  # a port or hub stores nothing of its own
    "distribution": 14.0,  # judgement: wholesaler stock of about two weeks
    "market": 15.0,  # Premier survey Oct 2024: US hospitals hold 15-22 days of IV fluids (low end)
}

#: weeks to recover after a full loss
TTR_WEEKS: dict[str, float] = {
    "raw_material": 26.0,  # judgement between a flood restart (10-17 weeks) and a quality shutdown (52 weeks)
    "api": 52.0,  # India 2022-23 quality shutdown: about 12 months to restart
    "cmo": 40.0,  # judgement: flood/tornado North Carolina 2023-24: 4-12 months to normal supply
    "fill_finish": 52.0,  # India 2022-23 cisplatin plant: about 12 months to restart
    "packaging": 12.0,  # judgement: packaging lines are more easily replaced
    "logistics": 4.0,  # judgement: a closed port or hub reopens within weeks
    "distribution": 8.0,  # judgement
    "market": 4.0,  # judgement: a market site stands for demand; its "failure" is a local distribution loss
}

#: spare capacity as a fraction of normal output
SURGE: float = 0.0  # PRODUCT.md section 2

#: yearly probability of a disruption of a site, by kind (before the country factor)
ANNUAL_DISRUPTION_PROB: dict[str, float] = {
    "raw_material": 0.03,  # judgement
    "api": 0.04,  # judgement: FDA warning letters / import alerts hit a few % of API sites a year
    "cmo": 0.03,
    "fill_finish": 0.05,  # judgement: sterile manufacturing has the most quality shutdowns
    "packaging": 0.02,
    "logistics": 0.02,
    "distribution": 0.01,
    "market": 0.0,  # demand points do not fail by themselves
}

#: multiplier of the kind probability for countries with a known higher hazard (default 1)
COUNTRY_HAZARD_FACTOR: dict[str, float] = {
    "PRI": 2.0,  # NOAA AOML: 42% yearly chance of a tropical storm or hurricane within ~100 miles of San Juan
    "USA": 1.0,
    "IND": 1.5,  # judgement: FDA quality shutdowns (India 2022-23) and export restrictions (March-May 2020)
    "CHN": 1.5,  # judgement: export restrictions and lockdowns
}

DEFAULT_SOURCES = {
    "market inventory_days": "Premier survey, Oct 2024 (US hospitals hold 15-22 days of IV fluids)",
    "api/fill_finish ttr_weeks": "India 2022-23 quality shutdown: about 12 months to restart",
    "PRI hazard factor": "NOAA AOML: San Juan 42% yearly chance of a tropical storm or hurricane within ~100 miles",
}


def annual_disruption_prob(kind: str, country: str) -> float:
    """Default yearly disruption probability of a site of ``kind`` in ``country`` (alpha-3), capped at 1.

    Examples
    --------
    >>> annual_disruption_prob("fill_finish", "PRI")
    0.1
    """
    return min(1.0, ANNUAL_DISRUPTION_PROB.get(kind, 0.02) * COUNTRY_HAZARD_FACTOR.get(country, 1.0))


def annual_disruption_probs(kinds, countries):
    """Vectorised :func:`annual_disruption_prob` over arrays of kinds and alpha-3 countries."""
    import numpy as np
    import pandas as pd

    base = pd.Series(kinds).map(ANNUAL_DISRUPTION_PROB).fillna(0.02).to_numpy(dtype=float)
    factor = pd.Series(countries).map(COUNTRY_HAZARD_FACTOR).fillna(1.0).to_numpy(dtype=float)
    return np.minimum(1.0, base * factor)

"""Where the shipped data files live: ``data/`` and ``assets/`` beside the ``riskmodel`` package.

The repository layout is ``riskmodel/`` next to ``data/`` and ``assets/``; paths are resolved from this file, so they
do not depend on the working directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_DIR = PACKAGE_DIR.parent
DATA_DIR = ROOT_DIR / "data"
ASSETS_DIR = ROOT_DIR / "assets"
GEO_DIR = DATA_DIR / "geo"

COUNTRIES_GPKG = GEO_DIR / "countries.gpkg"
CITIES_CSV = GEO_DIR / "cities.csv.gz"
REGIONS_CSV = DATA_DIR / "regions.csv"
TOPOJSON_DIR = ASSETS_DIR / "topojson"


def data_path(*parts: str) -> Path:
    """Return the path of a file under the shipped ``data/`` folder.

    Parameters
    ----------
    *parts : str
        Path components below ``data/``.

    Returns
    -------
    pathlib.Path
        Absolute path (the file need not exist).

    Examples
    --------
    >>> data_path("regions.csv").name
    'regions.csv'
    """
    return DATA_DIR.joinpath(*parts)

"""Country codes: any accepted spelling of a country (alpha-2, alpha-3, English name) to ISO 3166 alpha-3.

Matching is exact after normalisation (accents, case, spaces and punctuation ignored; see :func:`normalise`), never
fuzzy. The index is built once from ``pycountry`` (codes, names, common and official names, plus simple variants
such as "Republic of Korea" for "Korea, Republic of") and a small alias table for everyday names ("USA", "UK",
"Russia", "Turkey", "Czech Republic", "Ivory Coast", ...). Kosovo, which ISO 3166 does not list, uses the
user-assigned codes ``XK`` / ``XKX`` (as the EU and passports do).

Puerto Rico is its own country, ``PRI``, never ``USA``.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
import pandas as pd
import pycountry

# Codes outside ISO 3166-1 that we accept: alpha-3 -> (alpha-2, display name).
EXTRA_COUNTRIES = {"XKX": ("XK", "Kosovo")}

# Everyday names -> alpha-3. Keys are normalised when the index is built, so spacing, case and dots do not matter.
ALIASES = {
    "USA": ["U.S.A.", "U.S.", "United States", "United States of America"],
    "GBR": ["UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"],
    "KOR": ["South Korea", "Korea", "Korea (South)", "Republic of Korea", "Korea Rep", "Korea, Rep."],
    "PRK": ["North Korea", "DPRK", "Korea (North)", "Korea, Dem. Rep."],
    "TUR": ["Turkey", "Turkiye"],
    "CZE": ["Czech Republic"],
    "RUS": ["Russia"],
    "VNM": ["Vietnam", "Viet Nam"],
    "TWN": ["Taiwan", "Chinese Taipei", "Republic of China"],
    "CHN": ["PRC", "People's Republic of China", "Mainland China"],
    "HKG": ["Hong Kong SAR"],
    "MAC": ["Macau", "Macao SAR"],
    "IRN": ["Iran"],
    "SYR": ["Syria"],
    "LAO": ["Laos"],
    "MDA": ["Moldova"],
    "BOL": ["Bolivia"],
    "VEN": ["Venezuela"],
    "TZA": ["Tanzania"],
    "MKD": ["Macedonia"],
    "CIV": ["Ivory Coast"],
    "SWZ": ["Swaziland"],
    "MMR": ["Burma"],
    "NLD": ["Holland", "The Netherlands"],
    "CPV": ["Cape Verde"],
    "COD": ["DR Congo", "DRC", "Congo-Kinshasa", "Democratic Republic of the Congo", "Congo, Dem. Rep."],
    "COG": ["Republic of the Congo", "Congo-Brazzaville", "Congo, Rep."],
    "BRN": ["Brunei"],
    "TLS": ["East Timor"],
    "VAT": ["Vatican", "Vatican City"],
    "PSE": ["Palestine"],
    "FSM": ["Micronesia"],
    "ARE": ["UAE", "Emirates"],
    "BIH": ["Bosnia"],
    "FLK": ["Falkland Islands"],
    "VGB": ["British Virgin Islands"],
    "VIR": ["US Virgin Islands", "U.S. Virgin Islands"],
    "XKX": ["KOS", "Kosovo"],
}

# Display names where pycountry's own name is long or formal.
DISPLAY_NAMES = {
    "RUS": "Russia",
    "COD": "DR Congo",
    "VAT": "Vatican City",
    "FSM": "Micronesia",
    "PSE": "Palestine",
    "BRN": "Brunei",
    "VGB": "British Virgin Islands",
    "VIR": "U.S. Virgin Islands",
    "FLK": "Falkland Islands",
}

# Letters that Unicode does not decompose into a base letter plus accents.
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                       "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i"})
_ASCII_DROP = str.maketrans({"&": "and"} | {chr(i): None for i in range(128) if not chr(i).isalnum() and chr(i) != "&"})


def strip_accents(text: str) -> str:
    """Return ``text`` with accents removed and letters such as ß, ø, ł spelled in ASCII; case and spacing kept.

    Examples
    --------
    >>> strip_accents("Łódź, São Paulo, Straße")
    'Lodz, Sao Paulo, Strasse'
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """Return a matching key: accents stripped, case folded, "&" read as "and", only letters and digits kept.

    Parameters
    ----------
    text : str
        Any name.

    Returns
    -------
    str
        The key ("" when nothing alphanumeric is left).

    Examples
    --------
    >>> normalise("  Côte d'Ivoire ")
    'cotedivoire'
    >>> normalise("München")
    'munchen'
    """
    if text.isascii():  # fast path for the common case
        return text.lower().translate(_ASCII_DROP)
    folded = strip_accents(text.replace("&", "and")).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _name_variants(name: str) -> list[str]:
    """"Korea, Republic of" -> ["Korea", "Republic of Korea"]; "Falkland Islands (Malvinas)" -> ["Falkland Islands"]."""
    variants = []
    if "(" in name:
        variants.append(name.split("(")[0])
    if ", " in name:
        head, tail = name.split(", ", 1)
        variants += [head, f"{tail} {head}"]
    if name.startswith("Saint "):
        variants.append("St " + name[len("Saint "):])
    return variants


@functools.cache
def _index() -> dict[str, str]:
    """Normalised key -> alpha-3, built once. Later sources override earlier ones; ambiguous variants are dropped."""
    records = [(c.alpha_3, c.alpha_2, [getattr(c, f, None) for f in ("name", "common_name", "official_name")])
               for c in pycountry.countries]
    records += [(a3, a2, [name]) for a3, (a2, name) in EXTRA_COUNTRIES.items()]

    variants: dict[str, set[str]] = {}
    for a3, _a2, names in records:
        for name in filter(None, names):
            for variant in _name_variants(name):
                variants.setdefault(normalise(variant), set()).add(a3)
    index = {key: next(iter(codes)) for key, codes in variants.items() if len(codes) == 1}
    for a3, _a2, names in records:
        index.update({normalise(name): a3 for name in names if name})
    for a3, aliases in ALIASES.items():
        index.update({normalise(alias): a3 for alias in aliases})
    for a3, a2, _names in records:
        index[a2.casefold()] = a3
        index[a3.casefold()] = a3
    index.pop("", None)
    return index


def to_alpha3(value: object) -> str | None:
    """Return the ISO alpha-3 code of a country given as alpha-2, alpha-3 or English name; None if unknown.

    Never raises: None, NaN, numbers and other odd input give None.

    Parameters
    ----------
    value : object
        Typically a string such as "DE", "DEU", "Germany", "south korea", "Türkiye".

    Returns
    -------
    str or None
        Upper-case alpha-3 code.

    Examples
    --------
    >>> to_alpha3("Puerto Rico"), to_alpha3("uk"), to_alpha3("Korea, Republic of"), to_alpha3(42)
    ('PRI', 'GBR', 'KOR', None)
    """
    if not isinstance(value, str):
        return None
    key = normalise(value)
    index = _index()
    found = index.get(key)
    if found is None and key.startswith("the"):
        found = index.get(key[3:])
    return found


def to_alpha3_many(values: pd.Series) -> pd.Series:
    """Vectorised :func:`to_alpha3`: each distinct value is converted once.

    Parameters
    ----------
    values : pandas.Series or sequence
        Country spellings.

    Returns
    -------
    pandas.Series
        Alpha-3 codes (object dtype, None where unknown), same index as ``values``.

    Examples
    --------
    >>> to_alpha3_many(pd.Series(["US", "Puerto Rico", None])).tolist()
    ['USA', 'PRI', None]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    try:
        positions, uniques = pd.factorize(series)  # missing values get -1, which picks the trailing None
    except TypeError:  # unhashable entries: one call per value
        return pd.Series([to_alpha3(v) for v in series], index=series.index, dtype=object)
    codes = np.array([to_alpha3(v) for v in uniques] + [None], dtype=object)
    return pd.Series(codes[positions], index=series.index, dtype=object)


def country_name(alpha3: object) -> str | None:
    """Return a short English display name for a country (any accepted spelling); None if unknown.

    Parameters
    ----------
    alpha3 : object
        Alpha-3 code (alpha-2 and names are accepted too).

    Returns
    -------
    str or None
        Common name where pycountry has one ("Taiwan", "South Korea"), else its name.

    Examples
    --------
    >>> country_name("PRI"), country_name("KOR"), country_name("XKX")
    ('Puerto Rico', 'South Korea', 'Kosovo')
    """
    code = to_alpha3(alpha3)
    if code is None:
        return None
    if code in DISPLAY_NAMES:
        return DISPLAY_NAMES[code]
    if code in EXTRA_COUNTRIES:
        return EXTRA_COUNTRIES[code][1]
    country = pycountry.countries.get(alpha_3=code)
    return getattr(country, "common_name", None) or country.name


def alpha2_of(alpha3: str) -> str | None:
    """Return the alpha-2 code of an alpha-3 code; None if unknown.

    Examples
    --------
    >>> alpha2_of("PRI"), alpha2_of("XKX")
    ('PR', 'XK')
    """
    if alpha3 in EXTRA_COUNTRIES:
        return EXTRA_COUNTRIES[alpha3][0]
    country = pycountry.countries.get(alpha_3=alpha3) if isinstance(alpha3, str) else None
    return country.alpha_2 if country else None


def all_alpha3() -> list[str]:
    """Return every known alpha-3 code (ISO 3166-1 plus Kosovo), sorted.

    Examples
    --------
    >>> len(all_alpha3())
    250
    """
    return sorted([c.alpha_3 for c in pycountry.countries] + list(EXTRA_COUNTRIES))

"""Supplements: what a CPO supplies for the AFIR publication that OCPI cannot carry.

OCPI has no field for a separate legal and brand name (AFIR Annex A1/A2), on-site service
support (A4), toilets and a rest area (A6), the NUTS-1 region (A10), the payment means and
brands accepted ad hoc (A22/A23) or the station's grid-connection power (B5). A CPO gives
them per party (country_code/party_id) and, where a location differs, per location; the
DATEX II publication merges them (exporters/datex2/supplement.py), the OCPI publication
never does: it stays what the CPO sent.

Every change is a new version (`supplements` rows are never changed): the current values
are the latest version, the older ones are the history, each with who made it (a portal
user) or that a CSV import did, and when. Only for a verified party of a feed
(nap/parties.py) may anyone supply values, and in the portal only a user of the feed's
organisation or an administrator.

    set_supplement(session, feed, "DE", "ABC", {"legal_name": "ABC GmbH"}, user=user)
    party_supplement(session, "DE", "ABC").values        # the party's current values
    party_supplement(session, "DE", "ABC").effective("LOC1")  # with a location's own on top
    history(session, "DE", "ABC")                       # newest version first
    import_csv(session, text)                           # all rows, or none
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nap.ocpi.ids import id_key
from nap.parties import PartyError, party_pair, verified_claim, verified_parties
from nap.store.states import UserRole
from nap.store.tables import Feed, FeedOwner, Location, Supplement, User

PORTAL, CSV = "portal", "csv"

# AFIR Annex item of each field, for the quality report and the portal.
ANNEX_ITEMS = {
    "legal_name": "A1", "brand_name": "A2", "service_type": "A4", "toilets": "A6", "rest_area": "A6",
    "nuts1": "A10", "payment_means": "A22", "other_payment_means": "A22", "payment_brands": "A23",
    "other_payment_brands": "A23", "grid_power_kw": "B5",
}
FIELDS = tuple(ANNEX_ITEMS)

# The values DATEX II's AFIR model has for them (aegi:ServiceTypeEnum, afac:MeansOfPaymentEnum,
# afac:PaymentBrandsEnum); anything else is "other" and goes into the free-text fields.
SERVICE_TYPES = ("fullService", "physicalAttendance", "selfService", "unattended")
PAYMENT_MEANS = ("paymentCreditCard", "paymentDebitCard", "paymentValueCard", "nfc", "emv", "qrCode", "website",
                 "mobileAccount", "prepay", "cashCoinsOnly", "cashBillsOnly", "cashCoinsAndBills", "tollTag")
PAYMENT_BRANDS = ("americanExpress", "applePay", "cirrus", "dinersClub", "discoverCard", "giroCard", "maestro",
                  "masterCard", "visa", "vpay")
LISTS = ("payment_means", "other_payment_means", "payment_brands", "other_payment_brands")
YES_NO = ("toilets", "rest_area")
_TEXT_LIMIT = 200      # a name or a payment text
_LIST_LIMIT = 20       # items in a list
_MAX_POWER_KW = 100_000  # 100 MW: more than any charging site's grid connection


class SupplementError(ValueError):
    """Values or an import that cannot be taken; `field` names the culprit, if one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CsvImportError(SupplementError):
    """A CSV file with errors: nothing of it was stored. `errors`: (row, column, message),
    row 1 being the header, column None for the whole row."""

    def __init__(self, errors: list[tuple[int, str | None, str]]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors

    def lines(self) -> list[str]:
        return [f"row {row}" + (f", column {column}" if column else "") + f": {message}"
                for row, column, message in self.errors]


# -- values -------------------------------------------------------------------------------


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SupplementError(f"{name}: a text is expected", name)
    text = " ".join(value.split())
    if len(text) > _TEXT_LIMIT:
        raise SupplementError(f"{name}: at most {_TEXT_LIMIT} characters", name)
    return text or None


def _yes_no(name: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "unknown"):
        return None
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("no", "false", "0", "n"):
        return False
    raise SupplementError(f"{name}: yes, no or empty, not {value!r}", name)


def _list(name: str, value: object) -> list[str]:
    if value is None:
        return []
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise SupplementError(f"{name}: a list is expected", name)
    result: list[str] = []
    for item in items:
        text = _text(name, item)
        if text and text not in result:
            result.append(text)
    if len(result) > _LIST_LIMIT:
        raise SupplementError(f"{name}: at most {_LIST_LIMIT} values", name)
    return result


def _of(name: str, values: list[str], allowed: tuple[str, ...]) -> list[str]:
    by_fold = {choice.lower(): choice for choice in allowed}
    unknown = [value for value in values if value.lower() not in by_fold]
    if unknown:
        raise SupplementError(f"{name}: unknown value(s) {', '.join(unknown)}; one of {', '.join(allowed)}", name)
    return [by_fold[value.lower()] for value in values]


def _power(name: str, value: object) -> float | int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip().replace(",", ".")) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise SupplementError(f"{name}: a number of kW is expected, not {value!r}", name) from None
    if isinstance(value, bool) or not math.isfinite(number) or not 0 < number <= _MAX_POWER_KW:
        raise SupplementError(f"{name}: a power above 0 and at most {_MAX_POWER_KW} kW", name)
    return int(number) if number.is_integer() else round(number, 3)


def clean(values: dict) -> dict:
    """The values as stored: known fields only, checked, empty ones left out. Raises
    SupplementError naming the first field that is wrong."""
    if not isinstance(values, dict):
        raise SupplementError("the values must be an object")
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise SupplementError(f"unknown field(s): {', '.join(unknown)}", unknown[0])
    result: dict = {}
    for name in ("legal_name", "brand_name"):
        if (text := _text(name, values.get(name))) is not None:
            result[name] = text
    service = _text("service_type", values.get("service_type"))
    if service is not None:
        result["service_type"] = _of("service_type", [service], SERVICE_TYPES)[0]
    for name in YES_NO:
        if (flag := _yes_no(name, values.get(name))) is not None:
            result[name] = flag
    nuts = _text("nuts1", values.get("nuts1"))
    if nuts is not None:
        nuts = nuts.upper()
        # NUTS-1: the country's two letters and one character (DE3, FR1, ITC).
        if len(nuts) != 3 or not nuts[:2].isalpha() or not nuts.isalnum() or not nuts.isascii():
            raise SupplementError(f"nuts1: a NUTS-1 code has three characters (DE3, FR1), not {nuts!r}", "nuts1")
        result["nuts1"] = nuts
    lists = {name: _list(name, values.get(name)) for name in LISTS}
    lists["payment_means"] = _of("payment_means", lists["payment_means"], PAYMENT_MEANS)
    lists["payment_brands"] = _of("payment_brands", lists["payment_brands"], PAYMENT_BRANDS)
    result.update({name: items for name, items in lists.items() if items})
    if (power := _power("grid_power_kw", values.get("grid_power_kw"))) is not None:
        result["grid_power_kw"] = power
    return result


def annex_items(values: dict) -> list[str]:
    """The AFIR Annex items the values fill, in Annex order (A1 … B5)."""
    items = {ANNEX_ITEMS[name] for name in values if name in ANNEX_ITEMS}
    return sorted(items, key=lambda item: (item[0], int(item[1:])))


# -- who may --------------------------------------------------------------------------------


def may_supply(session: Session, user: User | None, feed: Feed) -> bool:
    """An administrator, or a user of the feed's organisation (its owners and their
    colleagues, as nap/portal/ownership.py). None is an operator at the command line."""
    if user is None or user.role == UserRole.ADMIN:
        return True
    owners = select(FeedOwner.feed_id).where(FeedOwner.feed_id == feed.id)
    if user.organisation_id is None:
        owners = owners.where(FeedOwner.user_id == user.id)
    else:
        owners = owners.join(User, User.id == FeedOwner.user_id).where(User.organisation_id == user.organisation_id)
    return bool(session.scalar(select(exists(owners))))


# -- reading --------------------------------------------------------------------------------


@dataclass
class PartySupplement:
    """A party's current supplement: its own values, and those of its locations that have
    their own (by folded location id)."""

    country_code: str
    party_id: str
    values: dict = field(default_factory=dict)
    locations: dict[str, dict] = field(default_factory=dict)
    location_ids: dict[str, str] = field(default_factory=dict)  # folded id -> as spelled

    def effective(self, location_id: str | None) -> dict:
        """What holds for a location: the party's values, its own over them field by field."""
        own = self.locations.get(id_key(location_id), {}) if location_id else {}
        return {**self.values, **own}

    def annex_items(self) -> list[str]:
        merged: dict = dict(self.values)
        for own in self.locations.values():
            merged.update(own)
        return annex_items(merged)


def _latest():
    newest = (select(Supplement.country_code, Supplement.party_id, Supplement.location_key,
                     func.max(Supplement.version).label("version"))
              .group_by(Supplement.country_code, Supplement.party_id, Supplement.location_key).subquery())
    return select(Supplement).join(newest, (Supplement.country_code == newest.c.country_code)
                                   & (Supplement.party_id == newest.c.party_id)
                                   & (Supplement.location_key == newest.c.location_key)
                                   & (Supplement.version == newest.c.version))


def _collect(rows) -> dict[tuple[str, str], PartySupplement]:
    parties: dict[tuple[str, str], PartySupplement] = {}
    for row in rows:
        party = parties.setdefault((row.country_code, row.party_id), PartySupplement(row.country_code, row.party_id))
        values = row.values if isinstance(row.values, dict) else {}
        if row.location_key:
            if values:
                party.locations[row.location_key] = values
                party.location_ids[row.location_key] = row.location_id or row.location_key
        else:
            party.values = values
    return parties


def party_supplement(session: Session, country_code: str, party_id: str) -> PartySupplement:
    """The party's current supplement (empty when it has none): the function the quality
    report and the portal read."""
    country_code, party_id = party_pair(country_code, party_id)
    rows = session.scalars(_latest().where(Supplement.country_code == country_code,
                                           Supplement.party_id == party_id))
    return _collect(rows).get((country_code, party_id), PartySupplement(country_code, party_id))


def current_supplements(session: Session) -> dict[tuple[str, str], PartySupplement]:
    """Every party's current supplement, by (COUNTRY, PARTY): one query per publication."""
    return _collect(session.scalars(_latest()))


def current(session: Session, country_code: str, party_id: str, location_id: str | None = None) -> Supplement | None:
    """The current version's row of the party's (or the location's) supplement."""
    country_code, party_id = party_pair(country_code, party_id)
    return session.scalar(select(Supplement).where(
        Supplement.country_code == country_code, Supplement.party_id == party_id,
        Supplement.location_key == (id_key(location_id) if location_id else ""))
        .order_by(Supplement.version.desc()).limit(1))


def history(session: Session, country_code: str, party_id: str, location_id: str | None = None,
            all_locations: bool = False) -> list[Supplement]:
    """The versions, newest first: of the party's own values, of one location's, or
    (all_locations) of both."""
    country_code, party_id = party_pair(country_code, party_id)
    query = select(Supplement).where(Supplement.country_code == country_code, Supplement.party_id == party_id)
    if not all_locations:
        query = query.where(Supplement.location_key == (id_key(location_id) if location_id else ""))
    return list(session.scalars(query.order_by(Supplement.created_at.desc(), Supplement.id.desc())))


def state(session: Session) -> tuple[datetime | None, int, int]:
    """(latest change, newest row id, rows): changes whenever any supplement does."""
    latest, newest, count = session.execute(select(
        func.max(Supplement.created_at), func.max(Supplement.id), func.count(Supplement.id))).one()
    return latest, newest or 0, count


# -- writing --------------------------------------------------------------------------------


def _location_id(location_id: str | None) -> str | None:
    if location_id is None:
        return None
    text = location_id.strip()
    if not text:
        return None
    if len(text) > 36 or not text.isascii() or not text.isprintable():
        raise SupplementError("location_id: an OCPI location id (printable ASCII, at most 36 characters)",
                              "location_id")
    return text


def _add_version(session: Session, country_code: str, party_id: str, location_id: str | None, values: dict, *,
                 user_id: int | None, source: str) -> Supplement:
    key = id_key(location_id) if location_id else ""
    latest = current(session, country_code, party_id, location_id)
    if latest is not None and latest.values == values:
        return latest  # nothing changed: no version without a change
    if latest is None and not values:
        raise SupplementError("nothing to store: every field is empty")
    row = Supplement(country_code=country_code, party_id=party_id, location_key=key, location_id=location_id,
                     version=(latest.version + 1) if latest is not None else 1, values=values,
                     created_at=datetime.now(timezone.utc), created_by=user_id, source=source)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:  # someone stored this version meanwhile; the caller rolls back
        raise SupplementError("the supplement was changed meanwhile: reload and try again") from error
    return row


def set_supplement(session: Session, feed: Feed, country_code: str, party_id: str, values: dict, *,
                   user: User | None, location_id: str | None = None, source: str = PORTAL) -> Supplement:
    """Store `values` as the new version of the party's (or the location's) supplement.
    Refused (SupplementError) unless the pair is verified for the feed and `user` may supply
    for the feed (may_supply; None: an operator at the command line). Unchanged values
    make no new version. The caller commits."""
    try:
        country_code, party_id = party_pair(country_code, party_id)
    except PartyError as error:
        raise SupplementError(str(error), "party") from None
    if (country_code, party_id) not in verified_parties(session, feed.id):
        raise SupplementError(f"{country_code}/{party_id} is not a verified party of feed {feed.name!r}", "party")
    if not may_supply(session, user, feed):
        raise SupplementError(f"you may not supply values for feed {feed.name!r}", "party")
    return _add_version(session, country_code, party_id, _location_id(location_id), clean(values),
                        user_id=user.id if user is not None else None, source=source)


def _has_location(session: Session, country_code: str, party_id: str, location_id: str) -> bool:
    return session.scalar(select(exists().where(
        Location.country_code == country_code, Location.party_id == party_id, Location.id_key == id_key(location_id),
        Location.removed_at.is_(None)))) or False


# -- CSV --------------------------------------------------------------------------------------

KEY_COLUMNS = ("country_code", "party_id", "location_id")
COLUMNS = KEY_COLUMNS + FIELDS
_MAX_ROWS = 100_000


@dataclass
class ImportResult:
    rows: int = 0
    versions: int = 0    # new versions stored (a row that changes nothing makes none)
    unchanged: int = 0


def import_csv(session: Session, data: str | bytes, *, user: User | None = None) -> ImportResult:
    """Import a CSV file (docs/supplement.md): every row, or none. A column the file has
    replaces that field (an empty cell clears it); a column it does not have keeps the
    current value. Raises CsvImportError with every row's and column's errors; then nothing
    was stored. The caller commits."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CsvImportError([(1, None, f"not UTF-8 text (byte {error.start})")]) from None
    data = data.lstrip("\ufeff")
    try:
        sniffed = csv.Sniffer().sniff(data.split("\n", 1)[0], delimiters=",;\t") if data.strip() else None
        delimiter = sniffed.delimiter if sniffed else ","
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=delimiter, strict=True)
    errors: list[tuple[int, str | None, str]] = []
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise CsvImportError([(1, None, f"not CSV: {error}")]) from None
    if not header or not any(cell.strip() for cell in header):
        raise CsvImportError([(1, None, "the file is empty: the first row names the columns")])
    names = [cell.strip().lower() for cell in header]
    for index, name in enumerate(names, start=1):
        if name not in COLUMNS:
            errors.append((1, f"{index} ({header[index - 1]!r})",
                           f"unknown column; the columns are {', '.join(COLUMNS)}"))
        elif names.index(name) != index - 1:
            errors.append((1, name, "the column appears twice"))
    for required in ("country_code", "party_id"):
        if required not in names:
            errors.append((1, required, "the column is missing"))
    if errors:
        raise CsvImportError(errors)
    fields = [name for name in names if name in FIELDS]
    planned: list[tuple[Feed, str, str, str | None, dict]] = []
    seen: dict[tuple[str, str, str], int] = {}
    feeds: dict[tuple[str, str], Feed | None] = {}
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if row_number > _MAX_ROWS:
                errors.append((row_number, None, f"at most {_MAX_ROWS} rows per file"))
                break
            if len(cells) != len(names):
                errors.append((row_number, None, f"{len(cells)} cells, the header has {len(names)}"))
                continue
            row = dict(zip(names, cells))
            try:
                country_code, party_id = party_pair(row["country_code"], row["party_id"])
            except PartyError as error:
                errors.append((row_number, "country_code/party_id", str(error)))
                continue
            try:
                location_id = _location_id(row.get("location_id"))
            except SupplementError as error:
                errors.append((row_number, "location_id", str(error)))
                continue
            where = (country_code, party_id, id_key(location_id) if location_id else "")
            if where in seen:
                errors.append((row_number, None, f"{country_code}/{party_id}"
                               f"{' location ' + location_id if location_id else ''} is on row {seen[where]} already"))
                continue
            seen[where] = row_number
            if (country_code, party_id) not in feeds:
                claim = verified_claim(session, country_code, party_id)
                feeds[country_code, party_id] = session.get(Feed, claim.feed_id) if claim is not None else None
            feed = feeds[country_code, party_id]
            if feed is None:
                errors.append((row_number, "country_code/party_id",
                               f"{country_code}/{party_id} is verified for no feed: no supplement can be given"))
                continue
            if not may_supply(session, user, feed):
                errors.append((row_number, "country_code/party_id",
                               f"you may not supply values for {country_code}/{party_id}"))
                continue
            if location_id is not None and not _has_location(session, country_code, party_id, location_id):
                errors.append((row_number, "location_id",
                               f"{country_code}/{party_id} has no location {location_id!r}"))
                continue
            latest = current(session, country_code, party_id, location_id)
            given = {name: (row[name] if row[name].strip() else None) for name in fields}
            base = dict(latest.values) if latest is not None else {}
            try:
                values = clean({**{k: v for k, v in base.items() if k not in given}, **given})
            except SupplementError as error:
                errors.append((row_number, error.field, str(error)))
                continue
            planned.append((feed, country_code, party_id, location_id, values))
    except csv.Error as error:
        errors.append((row_number + 1, None, f"not CSV: {error}"))
    if errors:
        raise CsvImportError(errors)
    result = ImportResult(rows=len(planned))
    for feed, country_code, party_id, location_id, values in planned:
        latest = current(session, country_code, party_id, location_id)
        if (latest is not None and latest.values == values) or (latest is None and not values):
            result.unchanged += 1
            continue
        _add_version(session, country_code, party_id, location_id, values,
                     user_id=user.id if user is not None else None, source=CSV)
        result.versions += 1
    return result

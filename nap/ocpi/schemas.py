"""Pydantic schemas of the OCPI 2.3.0 Location and Tariff objects.

They validate what a CPO serves (after upgrading older versions to 2.3.0) and produce the
normalized form NAP stores and publishes. They are strict on types, required fields and
closed enums, and lenient where the spec's own examples and real feeds deviate harmlessly
(numbers for coordinate strings, `EVSE.parking` as plain ids, dates without 'Z'); such
repairs and unknown OpenEnum values are reported as warnings through the validation
context (`context={"warnings": [...]}`). Every text has a length limit (see MAX_TEXT_LENGTH).
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler, ValidationError, ValidationInfo,
                      field_validator)
from pydantic_core import PydanticCustomError, core_schema

from nap.config import max_text_length
from nap.ocpi import enums
from nap.ocpi.places import ALPHA3_CODES, TIME_ZONES
from nap.ocpi.spellings import spec_value
from nap.ocpi.values import future_limit, normalize_datetime_noting_zone, normalize_latitude, normalize_longitude


def _warn(info: ValidationInfo, message: str) -> None:
    if info.context is not None:
        info.context.setdefault("warnings", []).append(message)


# Fields whose values need a warning now and then (an unknown OpenEnum value, a number sent
# as text) validate the common case in pydantic-core alone: a union tried left to right,
# whose first branch (the known values; a number of the right type) calls no Python. Only
# what it refuses reaches the Python function that warns. A Python validator on every value
# (a million calls in a 100,000-EVSE harvest) would be a third of the validation time. When
# both branches refuse a value, the errors of the lenient branch are the ones that explain
# it: `validation_problems` drops the fast branch's and the branch labels.
FAST_BRANCH, LENIENT_BRANCH = "(fast branch)", "(lenient branch)"


class _FastFirst:
    def __init__(self, fast: core_schema.CoreSchema, lenient: core_schema.CoreSchema):
        self.fast, self.lenient = fast, lenient

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.union_schema([(self.fast, FAST_BRANCH), (self.lenient, LENIENT_BRANCH)],
                                        mode="left_to_right")


def validation_problems(error: ValidationError) -> list[dict]:
    """error.errors(), as if the fields above were validated by their lenient branch only."""
    problems = []
    for problem in error.errors(include_url=False):
        if FAST_BRANCH in problem["loc"]:
            continue
        if LENIENT_BRANCH in problem["loc"]:
            problem["loc"] = tuple(part for part in problem["loc"] if part != LENIENT_BRANCH)
        problems.append(problem)
    return problems


# Text lengths. OCPI gives most texts a length (string(45), CiString(36), URL: string(255)),
# which real feeds exceed harmlessly (addresses of 60 to 160 characters are common): such a
# value is kept, with a warning. Beyond NAP's own limit (NAP_MAX_TEXT_LENGTH, a few thousand
# characters) no text is legitimate, and it would be stored and published to every consumer
# (a 30 MB name made a 34 MB list page): it is invalid, so that an optional field is left out
# (harvesters/normalize/pruning.py) and a required one makes its object invalid. Ids that
# the store keeps in fixed-width columns (nap/store/tables.py; PostgreSQL refuses a longer
# value, failing the whole write) are limited to that width, which is the spec's length.
# The limits are checked in pydantic-core (the fast branch); Python runs only for a value
# beyond the spec's length.
MAX_TEXT_LENGTH = max_text_length()


def _too_long(value: str, limit: int, why: str) -> PydanticCustomError:
    return PydanticCustomError("string_too_long", "{length} characters, longer than {why}",
                               {"length": len(value), "why": why.format(limit=limit)})


_NAP_LIMIT = "NAP's limit of {limit} (NAP_MAX_TEXT_LENGTH)"


def string(spec: int | None = None, kind: str | None = None):
    """A text of OCPI's type `kind` (default string(spec)): up to `spec` characters as it is;
    longer, up to MAX_TEXT_LENGTH, kept with a warning; longer still, invalid. Without
    `spec`, only MAX_TEXT_LENGTH applies."""
    limit = max(MAX_TEXT_LENGTH, spec or 0)
    kind = kind or f"string({spec})"

    def check(value: str, info: ValidationInfo) -> str:
        if len(value) > limit:
            raise _too_long(value, limit, _NAP_LIMIT)
        _warn(info, f"{info.field_name}: {len(value)} characters, longer than OCPI's {kind}; kept")
        return value

    return Annotated[str, _FastFirst(core_schema.str_schema(max_length=spec or limit),
                                     core_schema.with_info_after_validator_function(check, core_schema.str_schema()))]


def identifier(length: int, kind: str = "CiString"):
    """An id the store keeps in a column of `length` characters, OCPI's length too: a longer
    one cannot be stored, and no warning could keep it. An id without a visible character
    names nothing (every publication leaves out what it cannot name): invalid too."""
    def refuse(value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank_id", "an empty id, which names nothing")
        raise _too_long(value, length, f"OCPI's {kind}({length})")

    return Annotated[str, _FastFirst(core_schema.str_schema(max_length=length, pattern=r"\S"),
                                     core_schema.no_info_after_validator_function(refuse, core_schema.str_schema()))]


Text = string()
Url = string(255, "URL, a string(255)")


def open_enum(name: str, max_length: int | None = None):
    """An OpenEnum: a known value in any spelling (or a well-known alias) is read as the
    spec's value, with a warning; an unknown value is kept, with a warning, when it has at
    most `max_length` characters (default MAX_TEXT_LENGTH; OCPI sets none)."""
    known = enums.OPEN_ENUMS[name]
    limit = max_length or MAX_TEXT_LENGTH
    why = f"the {{limit}} characters NAP stores of a {name} it does not know" if max_length else _NAP_LIMIT

    def check(value: str, info: ValidationInfo) -> str:
        if len(value) > limit:
            raise _too_long(value, limit, why)
        if value not in known:
            spelled = spec_value(name, value)
            if spelled is not None:
                _warn(info, f"{info.field_name}: {value!r} read as {spelled}")
                return spelled
            _warn(info, f"{info.field_name}: {value!r} is not a known {name} value")
        return value

    return Annotated[str, _FastFirst(core_schema.literal_schema(sorted(known)),
                                     core_schema.with_info_after_validator_function(check, core_schema.str_schema()))]


def closed_enum(name: str):
    """A closed enum: a value that differs from the spec's only in case, whitespace or
    separators, or a well-known alias, is read as the spec's value with a warning; anything
    else is an error."""
    known = sorted(enums.CLOSED_ENUMS[name])
    expected = " or ".join(f"'{value}'" for value in known)

    def check(value: str, info: ValidationInfo) -> str:
        spelled = spec_value(name, value)
        if spelled is None:
            # As pydantic words a Literal's error, which CPOs and tests already know.
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        _warn(info, f"{info.field_name}: {value!r} read as {spelled}")
        return spelled

    return Annotated[str, _FastFirst(core_schema.literal_schema(known),
                                     core_schema.with_info_after_validator_function(check, core_schema.str_schema()))]


def _number_from_text(value: Any, info: ValidationInfo) -> Any:
    # JSON numbers sent as strings ("230") are understood, but the CPO should know.
    if isinstance(value, str) and value.strip():
        _warn(info, f"{info.field_name}: number given as text {value!r}")
        return value.strip()
    return value


def _whole_number(value: Any, info: ValidationInfo) -> Any:
    """An integer field: numbers as text, and numbers with a fraction (62.1), are rounded to
    the integer they stand for, with a warning."""
    value = _number_from_text(value, info)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value  # int_schema explains
    if isinstance(value, float) and value == value and abs(value) != float("inf") and not value.is_integer():
        _warn(info, f"{info.field_name}: {value!r} is not an integer; rounded to {round(value)}")
        return round(value)
    return value


def _lenient_int(**bounds) -> _FastFirst:
    return _FastFirst(core_schema.int_schema(strict=True, **bounds),
                      core_schema.with_info_before_validator_function(_whole_number, core_schema.int_schema(**bounds)))


def _figure(bounds: tuple[int, int], unit: str) -> _FastFirst:
    """A connector's figure: within `bounds`, or 0, which CPOs send for "not known" (kept,
    with a warning). Outside, the value is in another unit or in the wrong field (kW for W,
    kV for V), which the connector repairs work out from the connector's other fields
    (harvesters/normalize/repairs/connectors.py)."""
    low, high = bounds

    def plausible(value: int, info: ValidationInfo) -> int:
        if value == 0:
            _warn(info, f"{info.field_name}: 0, taken as not known")
        elif not low <= value <= high:
            raise ValueError(f"{value} {unit} is not plausible (expected {low} to {high} {unit}): another unit?")
        return value

    lenient = core_schema.with_info_after_validator_function(
        plausible, core_schema.with_info_before_validator_function(_whole_number, core_schema.int_schema()))
    return _FastFirst(core_schema.int_schema(strict=True, ge=low, le=high), lenient)


Int = Annotated[int, _lenient_int()]
Number = Annotated[float, _FastFirst(core_schema.float_schema(strict=True),
                                     core_schema.with_info_before_validator_function(_number_from_text,
                                                                                    core_schema.float_schema()))]
VOLTS, AMPERES, WATTS = (50, 2000), (1, 3000), (500, 10_000_000)
Volts = Annotated[int, _figure(VOLTS, "V")]
Amperes = Annotated[int, _figure(AMPERES, "A")]
Watts = Annotated[int, _figure(WATTS, "W")]


def _datetime(value: Any, info: ValidationInfo) -> str:
    text, zoneless = normalize_datetime_noting_zone(value)
    if zoneless:
        _warn(info, f"{info.field_name}: {value!r} has no time zone; read as UTC")
    return text


def _last_updated(value: Any, info: ValidationInfo) -> str:
    # Every object has one or more: one function call, not two, on the common path. A
    # validation may pass the limit in its context ("not_after"), worked out once.
    text, zoneless = normalize_datetime_noting_zone(value)
    if zoneless:
        _warn(info, f"{info.field_name}: {value!r} has no time zone; read as UTC")
    context = info.context
    limit = context.get("not_after") if context else None
    if text > (limit or future_limit()):
        raise ValueError(f"{value!r} lies in the future")
    return text


class _Checked:
    """A str field parsed by a Python function (hashable, unlike a bare core schema, so that
    `DateTime | None` works)."""

    def __init__(self, function):
        self.function = function

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self.function, core_schema.str_schema())


DateTime = Annotated[str, _Checked(_datetime)]
LastUpdated = Annotated[str, _Checked(_last_updated)]


def _member_of(values: frozenset[str], what: str):
    def refuse(value: str) -> str:
        raise ValueError(f"{value[:60]!r} is not {what}")

    return _FastFirst(core_schema.literal_schema(sorted(values)),
                      core_schema.no_info_after_validator_function(refuse, core_schema.str_schema()))


Country = Annotated[str, _member_of(ALPHA3_CODES, "an ISO 3166-1 alpha-3 country code")]
TimeZone = Annotated[str, _member_of(TIME_ZONES, "an IANA time zone name")]


def _weekday(value: Any, info: ValidationInfo) -> Any:
    # Counting from Sunday = 0 is common in software; OCPI counts Monday = 1 to Sunday = 7.
    if value == 0 and not isinstance(value, bool):
        _warn(info, "weekday: 0 read as Sunday (7)")
        return 7
    return value


Weekday = Annotated[int, _FastFirst(core_schema.int_schema(strict=True, ge=1, le=7),
                                    core_schema.with_info_before_validator_function(
                                        _weekday, core_schema.int_schema(ge=1, le=7)))]
# eMI3 / ISO 15118 EVSE ID: country, operator, 'E', then the id (separators optional).
EVSE_ID_RE = re.compile(r"^[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}$", re.IGNORECASE)


def _coordinate(normalize):
    def check(value: Any, info: ValidationInfo) -> str:
        text = normalize(value)
        if text != value:
            # Numbers, decimal commas and too few or many decimals are understood; the
            # CPO should still send the string form the spec prescribes.
            _warn(info, f"{info.field_name}: {value!r} read as {text}")
        return text

    return check


Latitude = Annotated[str, BeforeValidator(_coordinate(normalize_latitude))]
Longitude = Annotated[str, BeforeValidator(_coordinate(normalize_longitude))]


class OcpiObject(BaseModel):
    # Fields outside the 2.3.0 model are dropped from the normalized object; the raw
    # object as received keeps them.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class DisplayText(OcpiObject):
    language: string(2)
    text: string(512)


class Image(OcpiObject):
    url: Url
    thumbnail: Url | None = None
    category: open_enum("ImageCategory")
    type: string(4, "CiString(4)")
    width: Int | None = None
    height: Int | None = None


class BusinessDetails(OcpiObject):
    name: string(100)
    website: Url | None = None
    logo: Image | None = None


class GeoLocation(OcpiObject):
    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(GeoLocation):
    name: DisplayText | None = None


class RegularHours(OcpiObject):
    weekday: Weekday
    period_begin: str = Field(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
    period_end: str = Field(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")

    @field_validator("period_end", mode="before")
    @classmethod
    def _end_of_day(cls, value: Any, info: ValidationInfo) -> Any:
        # Many CPOs write midnight as "24:00", which the 2.3.0 regex does not allow.
        if value == "24:00":
            _warn(info, "period_end: '24:00' read as '23:59'")
            return "23:59"
        return value


class ExceptionalPeriod(OcpiObject):
    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiObject):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None


class EnergySource(OcpiObject):
    source: closed_enum("EnergySourceCategory")
    percentage: Number


class EnvironmentalImpact(OcpiObject):
    category: open_enum("EnvironmentalImpactCategory")
    amount: Number


class EnergyMix(OcpiObject):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: string(64) | None = None
    energy_product_name: string(64) | None = None


class PublishTokenType(OcpiObject):
    uid: string(36, "CiString(36)") | None = None
    type: closed_enum("TokenType") | None = None
    visual_number: string(64) | None = None
    issuer: string(64) | None = None
    group_id: string(36, "CiString(36)") | None = None


class StatusSchedule(OcpiObject):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: closed_enum("Status")


class EvseParking(OcpiObject):
    parking_id: string(36, "CiString(36)")
    evse_position: closed_enum("EvsePosition") | None = None


class Parking(OcpiObject):
    id: string(36, "CiString(36)")
    physical_reference: string(12) | None = None
    vehicle_types: list[open_enum("VehicleType")] = Field(min_length=1)
    max_vehicle_weight: Number | None = None
    max_vehicle_height: Number | None = None
    max_vehicle_length: Number | None = None
    max_vehicle_width: Number | None = None
    parking_space_length: Number | None = None
    parking_space_width: Number | None = None
    dangerous_goods_allowed: bool | None = None
    direction: closed_enum("ParkingDirection") | None = None
    drive_through: bool | None = None
    restricted_to_type: bool
    reservation_required: bool
    time_limit: Number | None = None
    roofed: bool | None = None
    images: list[Image] | None = None
    lighting: bool | None = None
    refrigeration_outlet: bool | None = None
    standards: list[string(36, "CiString(36)")] | None = None
    apds_reference: Text | None = None


class Connector(OcpiObject):
    id: identifier(36)
    standard: open_enum("ConnectorType", max_length=40)  # the store's column
    format: closed_enum("ConnectorFormat")
    power_type: closed_enum("PowerType")
    max_voltage: Volts
    max_amperage: Amperes
    max_electric_power: Watts | None = None
    # A Tariff's id is a CiString(36) (longer ones are refused): a longer reference names none.
    tariff_ids: list[identifier(36)] | None = None
    terms_and_conditions: Url | None = None
    capabilities: list[open_enum("ConnectorCapability")] | None = None
    last_updated: LastUpdated


class Evse(OcpiObject):
    uid: identifier(36)
    evse_id: identifier(48) | None = None
    status: closed_enum("Status")
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[open_enum("Capability")] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: string(4) | None = None
    coordinates: GeoLocation | None = None
    physical_reference: string(16) | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[open_enum("ParkingRestriction")] | None = None
    parking: list[EvseParking] | None = None
    images: list[Image] | None = None
    accepted_service_providers: list[string(50)] | None = None
    last_updated: LastUpdated

    @field_validator("evse_id")
    @classmethod
    def _evse_id_format(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not EVSE_ID_RE.match(value):
            _warn(info, f"evse_id: {value!r} is not an eMI3/ISO 15118 EVSE ID (like DE*ABC*E12345*1)")
        return value

    @field_validator("parking", mode="before")
    @classmethod
    def _parking_ids_as_objects(cls, value: Any, info: ValidationInfo) -> Any:
        # The spec's own examples give EVSE.parking as plain parking ids; the 2.3.0 type is
        # EVSEParking, so we serve the object form and say so.
        if isinstance(value, list) and any(isinstance(item, str) for item in value):
            _warn(info, "parking: plain parking ids converted to EVSEParking objects")
            return [{"parking_id": item} if isinstance(item, str) else item for item in value]
        return value


class Location(OcpiObject):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=1, max_length=3)
    id: str = Field(min_length=1, max_length=36)
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: string(255) | None = None
    address: string(45)
    city: string(45)
    postal_code: string(10) | None = None
    state: string(20) | None = None
    country: Country
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: open_enum("ParkingType") | None = None
    evses: list[Evse] | None = None
    parking_places: list[Parking] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[open_enum("Facility")] | None = None
    time_zone: TimeZone
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    help_phone: string(25, "CiString(25)") | None = None
    last_updated: LastUpdated


class PriceComponent(OcpiObject):
    type: closed_enum("TariffDimensionType")
    price: Number
    vat: Number | None = None
    step_size: Int


class TariffRestrictions(OcpiObject):
    start_time: string(5) | None = None
    end_time: string(5) | None = None
    start_date: string(10) | None = None
    end_date: string(10) | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_current: Number | None = None
    max_current: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: Int | None = None
    max_duration: Int | None = None
    day_of_week: list[closed_enum("DayOfWeek")] | None = None
    reservation: closed_enum("ReservationRestrictionType") | None = None


class TariffElement(OcpiObject):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: TariffRestrictions | None = None


class PriceLimit(OcpiObject):
    before_taxes: Number
    after_taxes: Number | None = None


class Tariff(OcpiObject):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=1, max_length=3)
    id: str = Field(min_length=1, max_length=36)
    currency: str = Field(min_length=3, max_length=3)
    type: closed_enum("TariffType") | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    preauthorize_amount: Number | None = None
    elements: list[TariffElement] = Field(min_length=1)
    tax_included: closed_enum("TaxIncluded")
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: LastUpdated

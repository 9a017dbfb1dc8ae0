"""Pydantic schemas of the OCPI 2.3.0 Location and Tariff objects.

They validate what a CPO serves (after upgrading older versions to 2.3.0) and produce the
normalized form NAP stores and publishes. They are strict on types, required fields and
closed enums, and lenient where the spec's own examples and real feeds deviate harmlessly
(numbers for coordinate strings, `EVSE.parking` as plain ids, dates without 'Z'); such
repairs and unknown OpenEnum values are reported as warnings through the validation
context (`context={"warnings": [...]}`).
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from nap.ocpi import enums
from nap.ocpi.values import normalize_datetime, normalize_latitude, normalize_longitude


def _warn(info: ValidationInfo, message: str) -> None:
    if info.context is not None:
        info.context.setdefault("warnings", []).append(message)


def open_enum(name: str):
    known = enums.OPEN_ENUMS[name]

    def check(value: str, info: ValidationInfo) -> str:
        if value not in known:
            _warn(info, f"{info.field_name}: {value!r} is not a known {name} value")
        return value

    return Annotated[str, AfterValidator(check)]


DateTime = Annotated[str, BeforeValidator(normalize_datetime)]
Latitude = Annotated[str, BeforeValidator(normalize_latitude)]
Longitude = Annotated[str, BeforeValidator(normalize_longitude)]


class OcpiObject(BaseModel):
    # Fields outside the 2.3.0 model are dropped from the normalized object; the raw
    # object as received keeps them.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class DisplayText(OcpiObject):
    language: str
    text: str


class Image(OcpiObject):
    url: str
    thumbnail: str | None = None
    category: open_enum("ImageCategory")
    type: str
    width: int | None = None
    height: int | None = None


class BusinessDetails(OcpiObject):
    name: str
    website: str | None = None
    logo: Image | None = None


class GeoLocation(OcpiObject):
    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(GeoLocation):
    name: DisplayText | None = None


class RegularHours(OcpiObject):
    weekday: int = Field(ge=1, le=7)
    period_begin: str = Field(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
    period_end: str = Field(pattern=r"^([0-1][0-9]|2[0-4]):[0-5][0-9]$")


class ExceptionalPeriod(OcpiObject):
    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiObject):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None


class EnergySource(OcpiObject):
    source: enums.EnergySourceCategory
    percentage: float


class EnvironmentalImpact(OcpiObject):
    category: open_enum("EnvironmentalImpactCategory")
    amount: float


class EnergyMix(OcpiObject):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: str | None = None
    energy_product_name: str | None = None


class PublishTokenType(OcpiObject):
    uid: str | None = None
    type: enums.TokenType | None = None
    visual_number: str | None = None
    issuer: str | None = None
    group_id: str | None = None


class StatusSchedule(OcpiObject):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: enums.Status


class EvseParking(OcpiObject):
    parking_id: str
    evse_position: enums.EvsePosition | None = None


class Parking(OcpiObject):
    id: str
    physical_reference: str | None = None
    vehicle_types: list[open_enum("VehicleType")] = Field(min_length=1)
    max_vehicle_weight: float | None = None
    max_vehicle_height: float | None = None
    max_vehicle_length: float | None = None
    max_vehicle_width: float | None = None
    parking_space_length: float | None = None
    parking_space_width: float | None = None
    dangerous_goods_allowed: bool | None = None
    direction: enums.ParkingDirection | None = None
    drive_through: bool | None = None
    restricted_to_type: bool
    reservation_required: bool
    time_limit: float | None = None
    roofed: bool | None = None
    images: list[Image] | None = None
    lighting: bool | None = None
    refrigeration_outlet: bool | None = None
    standards: list[str] | None = None
    apds_reference: str | None = None


class Connector(OcpiObject):
    id: str
    standard: open_enum("ConnectorType")
    format: enums.ConnectorFormat
    power_type: enums.PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[str] | None = None
    terms_and_conditions: str | None = None
    capabilities: list[open_enum("ConnectorCapability")] | None = None
    last_updated: DateTime


class Evse(OcpiObject):
    uid: str
    evse_id: str | None = None
    status: enums.Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[open_enum("Capability")] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: str | None = None
    coordinates: GeoLocation | None = None
    physical_reference: str | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[open_enum("ParkingRestriction")] | None = None
    parking: list[EvseParking] | None = None
    images: list[Image] | None = None
    accepted_service_providers: list[str] | None = None
    last_updated: DateTime

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
    name: str | None = None
    address: str
    city: str
    postal_code: str | None = None
    state: str | None = None
    country: str
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
    time_zone: str
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    help_phone: str | None = None
    last_updated: DateTime


class PriceComponent(OcpiObject):
    type: enums.TariffDimensionType
    price: float
    vat: float | None = None
    step_size: int


class TariffRestrictions(OcpiObject):
    start_time: str | None = None
    end_time: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    min_kwh: float | None = None
    max_kwh: float | None = None
    min_current: float | None = None
    max_current: float | None = None
    min_power: float | None = None
    max_power: float | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[enums.DayOfWeek] | None = None
    reservation: enums.ReservationRestrictionType | None = None


class TariffElement(OcpiObject):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: TariffRestrictions | None = None


class PriceLimit(OcpiObject):
    before_taxes: float
    after_taxes: float | None = None


class Tariff(OcpiObject):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=1, max_length=3)
    id: str = Field(min_length=1, max_length=36)
    currency: str = Field(min_length=3, max_length=3)
    type: enums.TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: str | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    preauthorize_amount: float | None = None
    elements: list[TariffElement] = Field(min_length=1)
    tax_included: enums.TaxIncluded
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime

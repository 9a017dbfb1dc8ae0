"""xs:sequence order of the facility types we write, per profile, copied from the XSDs.

A derived type's children are the base type's sequence followed by its own, so each order
is the concatenation along the inheritance chain. Only elements we may write are listed
(the _...Extension hooks are never written). Where the models differ: AFIR moves
externalIdentifier after additionalInformation, adds helpdesk/amenities, and its Facility
can hold dedicatedParkingSpaces.
"""
from __future__ import annotations

from exporters.datex2.xmlbuild import Order

_FACILITY_OBJECT = {  # fac:FacilityObject / afac:FacilityObject
    "generic": ("name", "alias", "externalIdentifier", "lastUpdated", "description", "accessibility",
                "additionalInformation", "informationWebsite", "photoUrl", "photo", "operatingHours",
                "locationReference", "owner", "operator", "associatedFacility", "rates",
                "applicableForVehicles", "dimension"),
    "afir": ("name", "alias", "lastUpdated", "description", "accessibility", "additionalInformation",
             "externalIdentifier", "informationWebsite", "photoUrl", "photo", "operatingHours",
             "locationReference", "owner", "operator", "helpdesk", "associatedFacility", "rates",
             "applicableForVehicles", "dimension", "amenities"),
}
_FACILITY = {  # fac:Facility / afac:Facility
    "generic": _FACILITY_OBJECT["generic"] + ("supplementalFacility",),
    "afir": _FACILITY_OBJECT["afir"] + ("supplementalFacility", "dedicatedParkingSpaces"),
}
_SUPPLEMENTAL_FACILITY = {  # SupplementalFacility (a FacilityObject)
    "generic": _FACILITY_OBJECT["generic"] + ("availability", "quantity", "regularlyCleaned", "applicableForUser"),
    "afir": _FACILITY_OBJECT["afir"] + ("availability", "quantity", "regularlyCleaned", "applicableForUser",
                                        "nearby"),
}

SITE = {  # EnergyInfrastructureSite
    "generic": Order(_FACILITY["generic"] + (
        "typeOfSite", "brand", "exclusiveUsers", "preferredUsers", "entrance", "exit",
        "energyInfrastructureStation")),
    "afir": Order(_FACILITY["afir"] + (
        "typeOfSite", "brand", "exclusiveUsers", "preferredUsers", "serviceType", "entrance", "exit",
        "energyInfrastructureStation", "energyDistributor", "mobilityServiceProvider", "roamingPlatform")),
}

STATION = {  # EnergyInfrastructureStation
    "generic": Order(_FACILITY["generic"] + (
        "authenticationAndIdentificationMethods", "numberOfRefillPoints", "refillPointByReference",
        "userInterfaceLanguage", "energyProvider", "energyDistributor", "serviceType", "refillPoint")),
    "afir": Order(_FACILITY["afir"] + (
        "totalMaximumPower", "authenticationAndIdentificationMethods", "numberOfRefillPoints",
        "userInterfaceLanguage", "renewableSources", "energyDistributor", "mobilityServiceProvider",
        "roamingPlatform", "hydrogen", "serviceType", "refillPoint", "energyProduct")),
}

CHARGING_POINT = {  # RefillPoint, then ElectricChargingPoint
    "generic": Order(_FACILITY["generic"] + (
        "deliveryUnit", "maximumDeliveryAmount", "minimumDeliveryAmount", "modelType", "reservation", "serviceType",
        "usageType", "vehicleToGridCommunicationType", "availableVoltage", "availableChargingPower", "connector",
        "electricEnergyMix", "vehicleSpace")),
    "afir": Order(_FACILITY["afir"] + (
        "deliveryUnit", "maximumDeliveryAmount", "minimumDeliveryAmount", "modelType", "reservation",
        "energyProduct",
        "currentType", "usageType", "vehicleToGridCommunicationType", "numberOfConnectors", "availableVoltage",
        "availableChargingPower", "chargingMode", "smartRechargingServices", "otherSmartRechargingServices",
        "connector")),
}

VEHICLE_SPACE = Order(_FACILITY["generic"] + ("parkingAllowedAfterCharging",))  # egi:VehicleSpace
DEDICATED_PARKING_SPACES = Order(_FACILITY_OBJECT["afir"] + ("numberOfSpaces", "userSpecific"))  # aegi:

SUPPLEMENTAL_SERVICE = {name: Order(names + ("serviceFacilityType",)) for name, names in _SUPPLEMENTAL_FACILITY.items()}
SUPPLEMENTAL_EQUIPMENT = {name: Order(names + ("equipmentType",)) for name, names in _SUPPLEMENTAL_FACILITY.items()}

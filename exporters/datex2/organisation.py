"""OCPI BusinessDetails (+ help_phone) -> DATEX II organisations.

Generic model: fac:OrganisationSpecification, which needs id/version and at least one
organisationUnit; the helpdesk phone lives in that unit's contactInformation because the
generic FacilityObject has no helpdesk element. AFIR model: afac:AnOrganisation (no id),
and a separate afac:helpdesk organisation carries the phone number.
"""
from __future__ import annotations

from dataclasses import dataclass

from exporters.datex2 import identity, ocpi
from exporters.datex2.namespaces import Profile
from exporters.datex2.xmlbuild import Element, single_language, sub, typed


@dataclass
class Organisation:
    name: str
    website: str | None = None
    logo: str | None = None
    phone: str | None = None
    sub_organisation: Organisation | None = None
    # AFIR Annex A1 asks for the operator's name; OCPI BusinessDetails has one name, which
    # is the operator's legal name as well as the one it trades under (set for operators).
    legal_name: str | None = None


def business(details: object, *, phone: str | None = None) -> Organisation | None:
    """OCPI BusinessDetails -> Organisation; None without a name (name is mandatory)."""
    details = ocpi.as_dict(details)
    name = ocpi.text(details.get("name")) if details else None
    if not name:
        return None
    logo = ocpi.as_dict(details.get("logo"))
    return Organisation(name=name, website=ocpi.url(details.get("website")),
                        logo=ocpi.url(logo.get("url")) if logo else None, phone=phone)


def write_organisation(parent: Element, tag: str, profile: Profile, organisation: Organisation,
                       scope: str) -> Element:
    """`scope` is the generic model's organisation id, unique per use ("{site}#operator")."""
    if profile.is_afir:
        element = typed(parent, tag, profile.ftype("AnOrganisation"))
    else:
        element = typed(parent, tag, profile.ftype("OrganisationSpecification"),
                        {"id": scope, "version": identity.fingerprint(organisation.__dict__)})
    single_language(element, profile.f("name"), organisation.name)
    single_language(element, profile.f("legalName"), organisation.legal_name)
    if organisation.website:
        sub(element, profile.f("linkToGeneralInformation"), organisation.website)
    if organisation.logo:
        sub(element, profile.f("linkToLogo"), organisation.logo)
    if organisation.phone or not profile.is_afir:
        unit = sub(element, profile.f("organisationUnit"))  # mandatory in the generic model
        if organisation.phone:
            contact = sub(unit, profile.f("contactInformation"))
            sub(contact, profile.f("telephoneNumber"), organisation.phone)
    if organisation.sub_organisation is not None:
        write_organisation(element, profile.f("subOrganisation"), profile, organisation.sub_organisation,
                           f"{scope}#suborganisation")
    return element

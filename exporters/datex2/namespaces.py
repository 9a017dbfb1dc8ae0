"""XML namespaces of DATEX II 3.7 and the two Energy Infrastructure profiles we publish.

DATEX II 3.7 ships the energy infrastructure model twice: the general model (egi/fac) and
the model for EU AFIR reporting (aegi/afac). Both have the same tree (site -> station ->
refill point -> connector) but different namespaces, element orders and enumerations, so
every builder takes a `Profile` and asks it for qualified names.
"""
from __future__ import annotations

from dataclasses import dataclass

D2 = "http://datex2.eu/schema/3/d2Payload"
COM = "http://datex2.eu/schema/3/common"
LOC = "http://datex2.eu/schema/3/locationReferencing"
LOCX = "http://datex2.eu/schema/3/locationExtension"
FAC = "http://datex2.eu/schema/3/facilities"
EGI = "http://datex2.eu/schema/3/energyInfrastructure"
AFAC = "http://datex2.eu/schema/3/afirFacilities"
AEGI = "http://datex2.eu/schema/3/afirEnergyInfrastructure"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

XSI_TYPE = f"{{{XSI}}}type"


class _QualifiedNames(dict):
    """local name -> "{uri}local" for one namespace, built on first use. The writer asks for
    the same few hundred names millions of times; a new string per element is measurable."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.namespace = namespace

    def __missing__(self, local: str) -> str:
        name = self[local] = f"{{{self.namespace}}}{local}"
        return name


class _Namespaces(dict):
    def __missing__(self, namespace: str) -> _QualifiedNames:
        names = self[namespace] = _QualifiedNames(namespace)
        return names


_QUALIFIED = _Namespaces()


def q(namespace: str, local: str) -> str:
    """Clark notation ("{uri}local") as lxml wants it."""
    return _QUALIFIED[namespace][local]


@dataclass(frozen=True)
class Profile:
    """One of the two energy infrastructure models.

    `fac`/`egi` are the prefixes of the facility and energy namespaces. They matter beyond
    cosmetics: xsi:type values and the schema's fixed `targetClass` strings are compared
    literally, so the prefixes must be bound exactly as named here.
    """

    name: str
    fac: str
    egi: str
    fac_ns: str
    egi_ns: str

    @property
    def is_afir(self) -> bool:
        return self.name == "afir"

    @property
    def nsmap(self) -> dict[str, str]:
        return {"d2": D2, "com": COM, self.fac: self.fac_ns, self.egi: self.egi_ns,
                "loc": LOC, "locx": LOCX, "xsi": XSI}

    def f(self, local: str) -> str:
        """Qualified name of an element declared in the facilities schema."""
        return _QUALIFIED[self.fac_ns][local]

    def e(self, local: str) -> str:
        """Qualified name of an element declared in the energy infrastructure schema."""
        return _QUALIFIED[self.egi_ns][local]

    def ftype(self, local: str) -> str:
        """xsi:type value for a facilities type, e.g. "fac:OrganisationSpecification"."""
        return f"{self.fac}:{local}"

    def etype(self, local: str) -> str:
        """xsi:type value for an energy infrastructure type."""
        return f"{self.egi}:{local}"


GENERIC = Profile(name="generic", fac="fac", egi="egi", fac_ns=FAC, egi_ns=EGI)
AFIR = Profile(name="afir", fac="afac", egi="aegi", fac_ns=AFAC, egi_ns=AEGI)
PROFILES = {GENERIC.name: GENERIC, AFIR.name: AFIR}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown DATEX II profile {name!r}; use one of {sorted(PROFILES)}") from None

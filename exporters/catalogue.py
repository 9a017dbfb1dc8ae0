"""/catalogue: every dataset NAP offers, described in DCAT-AP with the mobilityDCAT-AP
extension, so that the European and national data portals can harvest NAP's metadata.

One RDF graph (rdflib) is built from the Settings (publisher, country, public base URL,
licence) and the feeds that publish data (their names and stated licences), and served as
JSON-LD or Turtle, chosen by the Accept header or ?format=jsonld|ttl.

Vocabularies: dcat, dct, foaf, vcard, and mobilitydcatap (https://w3id.org/mobilitydcat-ap#)
with its controlled vocabularies (mobility theme, mobility data standard, transport mode);
frequencies, file types, countries, languages and data themes from the EU Publications
Office authority tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Response, request
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.config import Settings
from nap.ocpi.places import alpha3_of
from nap.store.tables import Feed, Location
from nap.web import db_session, settings

MOBILITYDCATAP = Namespace("https://w3id.org/mobilitydcat-ap#")
MOBILITY_THEME = Namespace("https://w3id.org/mobilitydcat-ap/mobility-theme/")
DATA_STANDARD = Namespace("https://w3id.org/mobilitydcat-ap/mobility-data-standard/")
TRANSPORT_MODE = Namespace("https://w3id.org/mobilitydcat-ap/transport-mode/")
PROTOCOL = Namespace("https://w3id.org/mobilitydcat-ap/application-layer-protocol/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
DATA_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
AFIR = URIRef("http://data.europa.eu/eli/reg/2023/1804/oj")

PREFIXES = {"dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "vcard": VCARD, "mobilitydcatap": MOBILITYDCATAP,
            "dcatap": DCATAP}

# What a dataset is about: where the chargers are and on what terms (static), and whether
# they are free now (dynamic).
STATIC = MOBILITY_THEME["location-and-conditions-of-charging-points"]
DYNAMIC = MOBILITY_THEME["availability-of-charging-points-for-electric-vehicles"]


@dataclass(frozen=True)
class Distribution:
    title: str
    path: str  # appended to the public base URL
    file_type: str  # EU file-type code
    media_type: str
    standard: str  # mobility data standard code
    download: bool = False  # the path is a file itself, not an API or a listing


@dataclass(frozen=True)
class Dataset:
    key: str  # the fragment of its IRI in the catalogue
    title: str
    description: str
    frequency: str  # EU frequency code
    themes: tuple[URIRef, ...]
    distributions: tuple[Distribution, ...]
    keywords: tuple[str, ...] = field(default=())


def _ocpi(version: str, note: str) -> Dataset:
    return Dataset(
        f"ocpi-{version}", f"OCPI {version} Locations and Tariffs",
        f"Every published charging location, EVSE (with its current status), connector and tariff of all "
        f"CPOs, through the OCPI {version} sender interface, paginated. {note}",
        "UPDATE_CONT", (STATIC, DYNAMIC),
        tuple(Distribution(f"OCPI {version} {module}", f"/ocpi/{version}/{module}", "JSON", "application/json",
                           "ocpi") for module in ("locations", "tariffs")),
        ("OCPI", "AFIR", "charging", "tariffs"))


def _datex2(profile: str, label: str) -> tuple[Dataset, Dataset]:
    base = "/datex2/v3.7/energy-infrastructure"
    return (
        Dataset(f"datex2-3.7-{profile}-table", f"DATEX II 3.7 Energy Infrastructure table ({label})",
                f"The static data of every published charging site, station, point and connector as a DATEX II 3.7 "
                f"energyInfrastructureTablePublication, {label}, valid against the official schema.",
                "UPDATE_CONT", (STATIC,),
                (Distribution(f"DATEX II 3.7 table ({label})", f"{base}/table?profile={profile}", "XML",
                              "application/xml", "datex-II"),),
                ("DATEX II", "AFIR", "charging")),
        Dataset(f"datex2-3.7-{profile}-status", f"DATEX II 3.7 Energy Infrastructure status ({label})",
                f"The status of every published charging point as a DATEX II 3.7 "
                f"energyInfrastructureStatusPublication, {label}: a snapshot, or what changed since a time (?since=)."
                + (" Carries the ad hoc prices." if profile == "afir" else ""),
                "UPDATE_CONT", (DYNAMIC,),
                (Distribution(f"DATEX II 3.7 status ({label})", f"{base}/status?profile={profile}", "XML",
                              "application/xml", "datex-II"),),
                ("DATEX II", "AFIR", "availability")),
    )


def _datasets() -> tuple[Dataset, ...]:
    de_afir = "/datex2/de-afir/01-00-00"
    return (
        _ocpi("2.3.0", "The model NAP normalizes every CPO's data to."),
        _ocpi("2.2.1", "A view of the same data for consumers of OCPI 2.2.1."),
        *_datex2("generic", "generic profile"),
        *_datex2("afir", "AFIR profile"),
        Dataset("datex2-de-afir-01-00-00-table", "German AFIR profile 01-00-00 table (DATEX II JSON)",
                "The static data of every published charging site in Germany's national AFIR profile of DATEX II, "
                "version 01-00-00, JSON encoding.",
                "UPDATE_CONT", (STATIC,),
                (Distribution("German AFIR profile table", f"{de_afir}/table", "JSON", "application/json",
                              "datex-II"),),
                ("DATEX II", "AFIR", "Germany")),
        Dataset("datex2-de-afir-01-00-00-status", "German AFIR profile 01-00-00 status (DATEX II JSON)",
                "The status of every published charging point in Germany's national AFIR profile of DATEX II, "
                "version 01-00-00, JSON encoding.",
                "UPDATE_CONT", (DYNAMIC,),
                (Distribution("German AFIR profile status", f"{de_afir}/status", "JSON", "application/json",
                              "datex-II"),),
                ("DATEX II", "AFIR", "Germany", "availability")),
        Dataset("map", "Charging locations for maps (GeoJSON)",
                "Published charging locations inside a bounding box as GeoJSON features, for maps.",
                "UPDATE_CONT", (STATIC, DYNAMIC),
                (Distribution("Map API", "/api/v1/locations", "GEOJSON", "application/geo+json", "other"),),
                ("GeoJSON", "map")),
        Dataset("statistics", "Charging point reliability statistics",
                "How long the charging points were available, charging, out of order or silent, computed every day "
                "from the status history: nationally, per power class and per operator, by day, week or month, "
                "as JSON or CSV (format=csv).",
                "DAILY", (DYNAMIC,),
                tuple(Distribution(f"Statistics {part} ({file_type})", f"/api/v1/statistics/{part}" + query,
                                   file_type, media_type, "other")
                      for part in ("national", "power-classes", "operators")
                      for file_type, media_type, query in (("JSON", "application/json", ""),
                                                           ("CSV", "text/csv", "?format=csv"))),
                ("statistics", "reliability", "availability", "AFIR")),
        Dataset("bulk-snapshots", "Daily bulk snapshots",
                "A complete snapshot every day: the DATEX II 3.7 table and status publications in the generic and AFIR "
                "profiles, the German AFIR profile (JSON), a CSV of the AFIR Art. 20 fields, SHA-256 sums and a "
                "manifest naming the source feeds and their licences, at dated URLs (/downloads/YYYY-MM-DD/<file>).",
                "DAILY", (STATIC, DYNAMIC),
                (Distribution("DATEX II 3.7 snapshots (XML, gzipped)", "/downloads", "XML", "application/xml",
                              "datex-II"),
                 Distribution("German AFIR profile 01-00-00 snapshots (JSON, gzipped)", "/downloads", "JSON",
                              "application/json", "datex-II"),
                 Distribution("AFIR fields (CSV)", "/downloads", "CSV", "text/csv", "other"),
                 Distribution("List of snapshots (JSON)", "/downloads.json", "JSON", "application/json", "other",
                              download=True)),
                ("DATEX II", "AFIR", "bulk download", "CSV")),
        Dataset("status-history-archive", "EVSE status history archive",
                "Every EVSE status change NAP received (pulled or pushed), one Apache Parquet file per UTC day at "
                "/downloads/archive/status-history/YYYY-MM-DD.parquet, with its SHA-256 sum; kept after the live "
                "history is pruned.",
                "DAILY", (DYNAMIC,),
                (Distribution("Daily status history (Parquet)", "/downloads", "PARQUET",
                              "application/vnd.apache.parquet", "other"),
                 Distribution("List of archived days (JSON)", "/downloads.json", "JSON", "application/json", "other",
                              download=True)),
                ("availability", "history", "Parquet")),
    )


DATASETS = _datasets()


def _source_feeds(session: Session) -> list[tuple[str, str]]:
    """(name, stated licence) of every feed whose locations are published."""
    publishing = select(Location.feed_id).where(Location.removed_at.is_(None), Location.publish.is_(True))
    return [(name, licence or "not stated by the CPO") for name, licence in session.execute(
        select(Feed.name, Feed.licence).where(Feed.id.in_(publishing)).order_by(Feed.name))]


def build_catalogue(settings: Settings, feeds: list[tuple[str, str]]) -> Graph:
    base = settings.public_base_url
    here = f"{base}/catalogue"
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)

    publisher = URIRef(f"{here}#publisher")
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, Literal(settings.operator_name, lang="en")))
    graph.add((publisher, FOAF.homepage, URIRef(base)))
    contact = URIRef(f"{here}#contact")
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, Literal(settings.operator_name)))
    graph.add((contact, VCARD.hasURL, URIRef(base)))

    licence = URIRef(settings.data_licence)
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
    # The feed list: each CPO states the licence of its own data; NAP's licence covers
    # the compilation. Named once, referred to by every distribution.
    rights = URIRef(f"{here}#rights")
    graph.add((rights, RDF.type, DCTERMS.RightsStatement))
    sources = "; ".join(f"{name} ({stated})" for name, stated in feeds) or "none yet"
    graph.add((rights, DCTERMS.description, Literal(
        f"Free to use, without registration, under the licence given. Compiled from the feeds of the charge point "
        f"operators, each also under the licence it states: {sources}.", lang="en")))

    spatial = alpha3_of(settings.country_code)
    catalogue = URIRef(here)
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal(f"{settings.operator_name}: EV charging data", lang="en")))
    graph.add((catalogue, DCTERMS.description, Literal(
        "The datasets of this National Access Point for electric vehicle charging data (AFIR, Regulation (EU) "
        "2023/1804, Art. 20).", lang="en")))
    graph.add((catalogue, DCTERMS.publisher, publisher))
    graph.add((catalogue, FOAF.homepage, URIRef(base)))
    graph.add((catalogue, DCTERMS.language, LANGUAGE.ENG))
    graph.add((catalogue, DCTERMS.license, licence))
    if spatial:
        graph.add((catalogue, DCTERMS.spatial, COUNTRY[spatial]))

    for described in DATASETS:
        dataset = URIRef(f"{here}#{described.key}")
        graph.add((catalogue, DCAT.dataset, dataset))
        graph.add((dataset, RDF.type, DCAT.Dataset))
        graph.add((dataset, DCTERMS.identifier, Literal(described.key)))
        graph.add((dataset, DCTERMS.title, Literal(described.title, lang="en")))
        graph.add((dataset, DCTERMS.description, Literal(described.description, lang="en")))
        graph.add((dataset, DCTERMS.publisher, publisher))
        graph.add((dataset, DCAT.contactPoint, contact))
        graph.add((dataset, DCTERMS.accrualPeriodicity, FREQUENCY[described.frequency]))
        graph.add((dataset, DCAT.theme, DATA_THEME.TRAN))
        graph.add((dataset, DCTERMS.language, LANGUAGE.ENG))
        graph.add((dataset, DCATAP.applicableLegislation, AFIR))
        for mode in ("car", "truck"):
            graph.add((dataset, MOBILITYDCATAP.transportMode, TRANSPORT_MODE[mode]))
        if spatial:
            graph.add((dataset, DCTERMS.spatial, COUNTRY[spatial]))
        for theme in described.themes:
            graph.add((dataset, MOBILITYDCATAP.mobilityTheme, theme))
        for keyword in described.keywords:
            graph.add((dataset, DCAT.keyword, Literal(keyword, lang="en")))
        for number, offered in enumerate(described.distributions, 1):
            distribution = URIRef(f"{here}#{described.key}-distribution-{number}")
            graph.add((dataset, DCAT.distribution, distribution))
            graph.add((distribution, RDF.type, DCAT.Distribution))
            graph.add((distribution, DCTERMS.title, Literal(offered.title, lang="en")))
            graph.add((distribution, DCAT.accessURL, URIRef(base + offered.path)))
            if offered.download:
                graph.add((distribution, DCAT.downloadURL, URIRef(base + offered.path)))
            graph.add((distribution, DCTERMS.format, FILE_TYPE[offered.file_type]))
            graph.add((distribution, DCAT.mediaType,
                       URIRef(f"http://www.iana.org/assignments/media-types/{offered.media_type}")))
            graph.add((distribution, DCTERMS.license, licence))
            graph.add((distribution, DCTERMS.rights, rights))
            graph.add((distribution, MOBILITYDCATAP.applicationLayerProtocol, PROTOCOL.http))
            graph.add((distribution, MOBILITYDCATAP.mobilityDataStandard, DATA_STANDARD[offered.standard]))
    return graph


FORMATS = {"jsonld": ("json-ld", "application/ld+json"), "ttl": ("turtle", "text/turtle")}
_BY_MEDIA_TYPE = {media_type: name for name, (_, media_type) in FORMATS.items()}

blueprint = Blueprint("catalogue", __name__)


def _chosen_format() -> str | None:
    asked = request.args.get("format")
    if asked is not None:
        return asked if asked in FORMATS else None
    best = request.accept_mimetypes.best_match(list(_BY_MEDIA_TYPE), default=None)
    return _BY_MEDIA_TYPE.get(best) if best else None


@blueprint.get("/catalogue")
def catalogue():
    chosen = _chosen_format()
    if chosen is None:
        message = "The catalogue is served as JSON-LD (Accept: application/ld+json or ?format=jsonld) or as " \
                  "Turtle (Accept: text/turtle or ?format=ttl)."
        status = 400 if "format" in request.args else 406
        return Response(message + "\n", status=status, mimetype="text/plain")
    current = settings()
    graph = build_catalogue(current, _source_feeds(db_session()))
    rdf_format, media_type = FORMATS[chosen]
    options = {"context": {prefix: str(ns) for prefix, ns in PREFIXES.items()}, "auto_compact": True} \
        if rdf_format == "json-ld" else {}
    body = graph.serialize(format=rdf_format, **options)
    response = Response(body, mimetype=media_type)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = f"public, max-age={current.api_cache_max_age_seconds}"
    return response

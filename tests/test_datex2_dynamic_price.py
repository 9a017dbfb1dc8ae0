"""Issue 23, AFIR Annex F3: the ad hoc price is dynamic data. The AFIR status publication
carries, per refill point, an energyRateUpdate for each ad hoc rate the table publishes
there, referring to the table's aegi:EnergyRate by its id; a tariff a CPO pushes reaches the
status delta (?since=) at once. Also the time zone across a change of offset (Annex A15),
served with an injected clock. Every document is validated against the real XSD."""
from __future__ import annotations

import base64
import copy
import io
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree
from sqlalchemy import select

from demo_cpo.fleet import generate_fleet
from exporters.datex2.source import changed_tariff_evses
from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from nap.feeds import get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.store.tables import Location
from tests.harvest_helpers import harvest, register_and_harvest
from tests.test_datex2 import NS, assert_valid, texts
from tests.waiting import clock_past

BASE = "/datex2/v3.7/energy-infrastructure"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
RATE_ID = "aegi:energyRateReference/@id"


def ad_hoc_rates(table: etree._Element) -> dict[str, list[str]]:
    """Refill point id -> the ids of its ad hoc energy rates, in the table."""
    return {point.get("id"): texts(point, ".//aegi:energyRate[aegi:ratePolicy = 'adHoc']/@id")
            for point in table.xpath("//aegi:refillPoint", namespaces=NS)}


def rate_updates(status: etree._Element) -> dict[str, list[str]]:
    """Refill point id -> the rate ids its energyRateUpdates refer to, in the status."""
    return {texts(point, "afac:reference/@id")[0]: texts(point, f"aegi:energyRateUpdate/{RATE_ID}")
            for point in status.xpath("//aegi:refillPointStatus", namespaces=NS)}


def prices(parent: etree._Element) -> list[bytes]:
    """The energyPrice children, serialised: the same bytes in the table and the status."""
    return [etree.tostring(price) for price in parent.xpath("aegi:energyPrice", namespaces=NS)]


def render(writer, locations, profile: str, at: datetime = NOW, **options) -> etree._Element:
    out = io.BytesIO()
    writer(out, locations, profile=profile, publication_time=at, **options)
    return assert_valid(out.getvalue())


def lookup_of(tariffs: list[dict]):
    by_key = {(t["country_code"], t["party_id"], t["id"]): t for t in tariffs}
    return lambda country, party, tariff_id: by_key.get((country, party, tariff_id))


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(60)


# --- the writers ---------------------------------------------------------------------------------

def test_the_status_carries_the_tables_ad_hoc_rates_with_the_same_prices(fleet):
    lookup = lookup_of(fleet.tariffs)
    table = render(write_table, fleet.locations, "afir", tariffs_by_key=lookup)
    status = render(write_status, fleet.locations, "afir", tariffs_by_key=lookup)
    expected = ad_hoc_rates(table)
    assert any(expected.values())
    assert rate_updates(status) == expected  # same refill points, same ids, ad hoc rates only
    rates = {rate.get("id"): rate for rate in table.xpath("//aegi:energyRate", namespaces=NS)}
    for update in status.xpath("//aegi:energyRateUpdate", namespaces=NS):
        rate = rates[texts(update, RATE_ID)[0]]
        assert texts(update, "aegi:energyRateReference/@targetClass") == ["aegi:EnergyRate"]
        assert texts(update, "aegi:lastUpdated") == texts(rate, "aegi:lastUpdated")
        assert prices(update) == prices(rate) and prices(update)


def test_contract_rates_and_rates_the_table_drops_are_not_in_the_status(fleet):
    usual = render(write_status, fleet.locations, "afir", tariffs_by_key=lookup_of(fleet.tariffs))
    assert any("#tariff:ADHOC-AC11" in rate_id for ids in rate_updates(usual).values() for rate_id in ids)
    tariffs = copy.deepcopy(fleet.tariffs)
    broken = next(t for t in tariffs if t["id"] == "ADHOC-AC11")
    broken["elements"][0]["price_components"][0]["price"] = 0.595  # a third decimal: dropped
    lookup = lookup_of(tariffs)
    table = render(write_table, fleet.locations, "afir", tariffs_by_key=lookup)
    status = render(write_status, fleet.locations, "afir", tariffs_by_key=lookup)
    referenced = {rate_id for ids in rate_updates(status).values() for rate_id in ids}
    assert referenced and not any("#tariff:ADHOC-AC11" in rate_id or "#tariff:REG-" in rate_id
                                  for rate_id in referenced)
    assert rate_updates(status) == ad_hoc_rates(table)


def test_without_tariffs_and_in_the_generic_model_the_status_has_no_price(fleet):
    lookup = lookup_of(fleet.tariffs)
    generic = etree.tostring(render(write_status, fleet.locations, "generic", tariffs_by_key=lookup))
    assert generic == etree.tostring(render(write_status, fleet.locations, "generic"))
    assert b"energyRateUpdate" not in generic
    assert not render(write_status, fleet.locations, "afir").xpath("//aegi:energyRateUpdate", namespaces=NS)


# --- a tariff pushed by a CPO, over HTTP ---------------------------------------------------------

def _auth(token: str) -> dict:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def test_a_pushed_tariff_change_is_in_the_afir_status_delta_at_once(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=10)
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status == "success"
    with sessions.begin() as session:
        headers = _auth(issue_push_token(session, get_feed(session, "demo")))
    before = httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"})
    assert before.status_code == 200
    table_rates = ad_hoc_rates(assert_valid(before.content))
    point, (rate_id, *_) = next((point, ids) for point, ids in table_rates.items() if ids)
    tariff_id = rate_id.rsplit("#tariff:", 1)[1]
    using = {p for p, ids in table_rates.items() if f"{p}#tariff:{tariff_id}" in ids}
    assert point in using

    since = format_datetime(clock_past(datetime.now(timezone.utc)))  # after everything the harvest wrote
    tariff = copy.deepcopy(next(t for t in cpo.app.config["FLEET"].tariffs if t["id"] == tariff_id))
    energy = next(c for e in tariff["elements"] for c in e["price_components"] if c["type"] == "ENERGY")
    energy["price"] = new_price = round(energy["price"] + 0.05, 2)
    tariff["last_updated"] = format_datetime(datetime.now(timezone.utc).replace(microsecond=0))
    put = httpx.put(f"{nap_server.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/{tariff_id}", json=tariff, headers=headers)
    assert put.json()["status_code"] == 1000

    # The first request after the PUT: no waiting, no harvest.
    delta = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": "afir", "since": since})
    assert delta.status_code == 200
    status = assert_valid(delta.content)
    updates = rate_updates(status)
    # No status changed: the delta holds exactly the refill points whose ad hoc price did.
    assert set(updates) == using
    after = assert_valid(httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"}).content)
    assert {p: ids for p, ids in ad_hoc_rates(after).items() if p in using} == updates
    update = status.xpath(f"//aegi:energyRateUpdate[{RATE_ID} = $id]", id=rate_id, namespaces=NS)[0]
    assert texts(update, "aegi:lastUpdated") == [tariff["last_updated"]]
    assert f"{new_price:.2f}" in texts(update, "aegi:energyPrice[aegi:priceType = 'pricePerKWh']/aegi:value")
    rate = after.xpath("//aegi:energyRate[@id = $id]", id=rate_id, namespaces=NS)[0]
    assert prices(update) == prices(rate)
    assert texts(status, "aegi:tableReference/@version") == texts(after, "aegi:energyInfrastructureTable/@version")
    for site_status in status.xpath("//aegi:energyInfrastructureSiteStatus", namespaces=NS):
        (site_id,) = texts(site_status, "afac:reference/@id")
        assert texts(site_status, "afac:reference/@version") == after.xpath(
            "//aegi:energyInfrastructureSite[@id = $id]/@version", id=site_id, namespaces=NS)

    # The generic model has no rate update: its delta has nothing to say.
    generic = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": "generic", "since": since})
    assert generic.status_code == 204

    # One charging point of a location with several changes status: the delta holds it alone,
    # in a site and station that carry the table's versions, which cover the others too.
    location = next(loc for loc in cpo.app.config["FLEET"].locations if len(loc["evses"]) > 1)
    evse = location["evses"][0]
    since = format_datetime(clock_past(datetime.now(timezone.utc)))
    patch = httpx.patch(f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/ABC/{location['id']}/{evse['uid']}",
                        json={"status": "OUTOFORDER" if evse["status"] != "OUTOFORDER" else "AVAILABLE",
                              "last_updated": format_datetime(datetime.now(timezone.utc))}, headers=headers)
    assert patch.json()["status_code"] == 1000
    table = assert_valid(httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"}).content)
    status = assert_valid(httpx.get(f"{nap_server.url}{BASE}/status",
                                    params={"profile": "afir", "since": since}).content)
    site_id = f"DE*ABC*{location['id']}"
    assert texts(status, "//aegi:refillPointStatus/afac:reference/@id") == [f"{site_id}#evse:{evse['uid']}"]
    for object_id in (site_id, f"{site_id}#station"):
        assert status.xpath("//afac:reference[@id = $id]/@version", id=object_id, namespaces=NS) == table.xpath(
            "//*[@id = $id]/@version", id=object_id, namespaces=NS)


def test_a_tariff_new_to_the_store_is_an_ad_hoc_price_change_only_where_named_before(demo_cpo, sessions, settings):
    """A first harvest's tariffs are new, as are the EVSEs that use them: no EVSE is in a
    status delta for its price (they all were, which put a whole feed in the worker's next
    status segment). A harvest that changes a tariff's price puts the EVSEs using it in; so
    does one that brings a tariff connectors named before, unchanged since."""
    cpo = demo_cpo(locations=10)
    fleet = cpo.app.config["FLEET"]
    changed_tariff, held_back = fleet.tariffs[0], fleet.tariffs.pop(1)  # named, served later
    before_first = clock_past(datetime.now(timezone.utc))
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status in (
        "success", "degraded")
    with sessions() as session:
        assert changed_tariff_evses(session, before_first) == {}

    energy = next(c for e in changed_tariff["elements"] for c in e["price_components"] if c["type"] == "ENERGY")
    energy["price"] = round(energy["price"] + 0.05, 2)
    now = format_datetime(datetime.now(timezone.utc).replace(microsecond=0))
    changed_tariff["last_updated"] = held_back["last_updated"] = now
    fleet.tariffs.append(held_back)
    before_second = clock_past(datetime.now(timezone.utc))
    assert harvest(sessions, settings).status in ("success", "degraded")
    using = {(location["id"], evse["uid"]) for location in fleet.locations for evse in location["evses"]
             if any({changed_tariff["id"], held_back["id"]} & set(connector.get("tariff_ids", []))
                    for connector in evse["connectors"])}
    named_held_back = {(location["id"], evse["uid"]) for location in fleet.locations for evse in location["evses"]
                       if any(held_back["id"] in connector.get("tariff_ids", []) for connector in evse["connectors"])}
    with sessions() as session:
        changed = changed_tariff_evses(session, before_second)
        ids = dict(session.execute(select(Location.id, Location.ocpi_id)).all())
    assert named_held_back and {(ids[pk], uid) for pk, uids in changed.items() for uid in uids} == using


# --- A15: the time zone across a change of offset, with an injected clock -----------------------

BEFORE_CHANGE = datetime(2027, 3, 28, 0, 59, 59, tzinfo=timezone.utc)  # Europe/Berlin: 01:59:59 CET
AFTER_CHANGE = datetime(2027, 3, 28, 1, 0, tzinfo=timezone.utc)        # 03:00:00 CEST


class _Clock:
    moment = BEFORE_CHANGE


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return _Clock.moment if tz is None else _Clock.moment.astimezone(tz)


def test_the_served_table_and_status_change_with_the_offset(demo_cpo, nap_server, sessions, settings, monkeypatch):
    assert register_and_harvest(sessions, settings, demo_cpo(locations=3)).status == "success"
    monkeypatch.setattr("exporters.datex2.api.datetime", _FrozenDatetime)
    url = f"{nap_server.url}{BASE}"
    zone = "//afac:locationReference/loc:_locationExtension/loc:afirFacilityLocation/afac:timeZone"

    def get(path: str, moment: datetime, **headers) -> httpx.Response:
        _Clock.moment = moment
        return httpx.get(f"{url}/{path}", params={"profile": "afir"}, headers=headers)

    winter = get("table", BEFORE_CHANGE)
    winter_table = assert_valid(winter.content)
    assert set(texts(winter_table, zone)) == {"+01:00"}
    # Until the change the consumer's copy stays current; from its first second it is not.
    assert get("table", BEFORE_CHANGE - timedelta(hours=20), **{"If-None-Match": winter.headers["ETag"]}
               ).status_code == 304
    summer = get("table", AFTER_CHANGE, **{"If-None-Match": winter.headers["ETag"]})
    assert summer.status_code == 200 and summer.headers["ETag"] != winter.headers["ETag"]
    summer_table = assert_valid(summer.content)
    assert set(texts(summer_table, zone)) == {"+02:00"}
    # The status of the same moment already refers to the new site versions: a consumer
    # following the dynamic data sees within its next poll that its table is out of date.
    status = assert_valid(get("status", AFTER_CHANGE).content)
    site_versions = {site.get("id"): site.get("version")
                     for site in summer_table.xpath("//aegi:energyInfrastructureSite", namespaces=NS)}
    referenced = {texts(site, "afac:reference/@id")[0]: texts(site, "afac:reference/@version")[0]
                  for site in status.xpath("//aegi:energyInfrastructureSiteStatus", namespaces=NS)}
    assert referenced == site_versions
    old_versions = {site.get("id"): site.get("version")
                    for site in winter_table.xpath("//aegi:energyInfrastructureSite", namespaces=NS)}
    assert all(old_versions[site] != version for site, version in referenced.items())

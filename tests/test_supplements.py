"""Supplements (issue #23, build item 3): what a CPO supplies that OCPI cannot carry is
versioned, only a verified party's feed (its organisation, or an admin) may supply it, a CSV
file imports all its rows or none, and it reaches the DATEX II table (XSD-valid, with a new
ETag) but never the OCPI API. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from click.testing import CliRunner
from lxml import etree

from nap import supplements
from nap.feeds import add_feed, get_feed
from nap.parties import claim
from nap.store.db import write_session
from nap.store.tables import FeedOwner, Location, Supplement, User
from tests.harvest_helpers import count_rows, register_and_harvest
from tests.portal_fixtures import add_user
from tests.xsd import validate

BASE = "/datex2/v3.7/energy-infrastructure"
VALUES = {"legal_name": "ABC Ladenetz GmbH & Co. KG", "brand_name": "ABC Laden", "service_type": "unattended",
          "toilets": True, "rest_area": False, "nuts1": "de3", "payment_means": ["emv", "nfc"],
          "other_payment_means": ["Pay by SMS"], "payment_brands": ["visa", "giroCard"],
          "other_payment_brands": ["ABC Pay"], "grid_power_kw": 350}


def _feed(sessions, name="Ladenetz", parties=(("DE", "ABC"),)):
    with sessions.begin() as session:
        feed = add_feed(session, name=name, versions_url="https://cpo.example/versions", token="t",
                        parties=parties)
        return feed.id


def _location(sessions, feed_id: int, location_id: str = "LOC1") -> None:
    """A stored location of DE/ABC (the CSV import refers only to locations NAP has)."""
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        session.add(Location(feed_id=feed_id, country_code="DE", party_id="ABC", ocpi_id=location_id,
                             id_key=location_id.lower(), last_updated=now, content_hash="x", first_seen_at=now,
                             **Location.change_stamps(now), publish=True, latitude=52.5, longitude=13.4, data={}, raw={}))


def _owner(sessions, email: str, feed_id: int | None) -> int:
    user_id = add_user(sessions, email)
    if feed_id is not None:
        with sessions.begin() as session:
            session.add(FeedOwner(user_id=user_id, feed_id=feed_id))
    return user_id


def _set(sessions, feed_name: str, pair: tuple[str, str], values: dict, user_id: int | None, **options):
    with write_session(sessions) as session:
        user = session.get(User, user_id) if user_id is not None else None
        row = supplements.set_supplement(session, get_feed(session, feed_name), *pair, values, user=user, **options)
        return row.version


def test_every_change_is_a_version_and_the_latest_is_current(sessions):
    feed_id = _feed(sessions)
    cpo = _owner(sessions, "cpo@abc.example", feed_id)
    assert _set(sessions, "Ladenetz", ("de", "abc"), {"legal_name": "ABC GmbH"}, cpo) == 1
    assert _set(sessions, "Ladenetz", ("DE", "ABC"), VALUES, cpo) == 2
    assert _set(sessions, "Ladenetz", ("DE", "ABC"), VALUES, cpo) == 2  # unchanged: no version
    assert _set(sessions, "Ladenetz", ("DE", "ABC"), {"grid_power_kw": "22,5"}, cpo, location_id="Loc1") == 1
    with sessions() as session:
        current = supplements.party_supplement(session, "DE", "ABC")
        assert current.values["legal_name"] == VALUES["legal_name"] and current.values["nuts1"] == "DE3"
        assert current.effective("LOC1")["grid_power_kw"] == 22.5 and current.effective("LOC2")["grid_power_kw"] == 350
        assert current.annex_items() == ["A1", "A2", "A4", "A6", "A10", "A22", "A23", "B5"]
        versions = supplements.history(session, "DE", "ABC")
        assert [v.version for v in versions] == [2, 1] and versions[1].values == {"legal_name": "ABC GmbH"}
        assert all(v.created_by == cpo and v.source == "portal" and v.created_at for v in versions)
    # Clearing is a version too: the history keeps what was.
    assert _set(sessions, "Ladenetz", ("DE", "ABC"), {}, cpo) == 3
    with sessions() as session:
        assert supplements.party_supplement(session, "DE", "ABC").values == {}
        assert len(supplements.history(session, "DE", "ABC")) == 3


@pytest.mark.parametrize("values, field", [
    ({"service_type": "staffed"}, "service_type"), ({"nuts1": "DE30"}, "nuts1"),
    ({"grid_power_kw": "-3"}, "grid_power_kw"),
    ({"grid_power_kw": "lots"}, "grid_power_kw"), ({"toilets": "perhaps"}, "toilets"),
    ({"payment_brands": ["visa", "bitcoin"]}, "payment_brands"), ({"colour": "red"}, "colour"),
    ({"legal_name": "x" * 201}, "legal_name")])
def test_bad_values_are_refused_naming_the_field(values, field):
    with pytest.raises(supplements.SupplementError) as refused:
        supplements.clean(values)
    assert refused.value.field == field


def test_only_the_feeds_organisation_or_an_admin_supplies_for_a_verified_party(sessions):
    feed_id = _feed(sessions)
    other_feed = _feed(sessions, "Fremd", parties=(("DE", "XYZ"),))
    cpo = _owner(sessions, "cpo@abc.example", feed_id)
    outsider = _owner(sessions, "cpo@xyz.example", other_feed)
    admin = add_user(sessions, "admin@nap.example", role="admin")
    with write_session(sessions) as session:  # a claim the feed has, but nobody verified
        claim(session, get_feed(session, "Ladenetz"), "DE", "QQQ", source="form")
    refusals = [("Ladenetz", ("DE", "ABC"), outsider, "may not supply"),
                ("Ladenetz", ("DE", "QQQ"), cpo, "not a verified party"),
                ("Ladenetz", ("DE", "XYZ"), cpo, "not a verified party"),
                ("Fremd", ("DE", "XYZ"), cpo, "may not supply")]
    for feed, pair, user, why in refusals:
        with pytest.raises(supplements.SupplementError, match=why):
            _set(sessions, feed, pair, {"legal_name": "Mine"}, user)
    assert count_rows(sessions, Supplement) == 0
    assert _set(sessions, "Ladenetz", ("DE", "ABC"), {"legal_name": "By an admin"}, admin) == 1


GOOD_CSV = """country_code,party_id,location_id,legal_name,brand_name,toilets,payment_means,grid_power_kw
DE,ABC,,ABC Ladenetz GmbH,ABC Laden,yes,emv;nfc,
de,abc,LOC1,,,no,,150
"""


def test_a_csv_file_imports_every_row(sessions):
    _location(sessions, _feed(sessions))
    with write_session(sessions) as session:
        result = supplements.import_csv(session, GOOD_CSV.encode("utf-8-sig"))
    assert (result.rows, result.versions) == (2, 2)
    with sessions() as session:
        current = supplements.party_supplement(session, "DE", "ABC")
        assert current.values == {"legal_name": "ABC Ladenetz GmbH", "brand_name": "ABC Laden", "toilets": True,
                                  "payment_means": ["emv", "nfc"]}
        assert current.effective("loc1")["toilets"] is False and current.effective("loc1")["grid_power_kw"] == 150
        assert {row.source for row in supplements.history(session, "DE", "ABC", all_locations=True)} == {"csv"}
    # A column the file leaves out keeps its value; an empty cell clears one.
    with write_session(sessions) as session:
        result = supplements.import_csv(session, "country_code,party_id,brand_name,toilets\nDE,ABC,,no\n")
    assert result.versions == 1
    with sessions() as session:
        assert supplements.party_supplement(session, "DE", "ABC").values == {
            "legal_name": "ABC Ladenetz GmbH", "toilets": False, "payment_means": ["emv", "nfc"]}


@pytest.mark.parametrize("text, expected", [
    ("country_code,party_id,colour\nDE,ABC,red\n", "row 1, column 3 ('colour'): unknown column"),
    ("party_id,legal_name\nABC,X\n", "row 1, column country_code: the column is missing"),
    ("country_code,party_id,service_type\nDE,ABC,staffed\n", "row 2, column service_type: service_type: unknown"),
    ("country_code,party_id,legal_name\nDE,ZZZ,X\n",
     "row 2, column country_code/party_id: DE/ZZZ is verified for no feed"),
    ("country_code,party_id,legal_name\nDE,ABC,X\nDE,ABC,Y\n", "row 3: DE/ABC is on row 2 already"),
    ("country_code,party_id,legal_name\nDE,ABC\n", "row 2: 2 cells, the header has 3"),
    ("", "row 1: the file is empty"),
    ("country_code,party_id,location_id,toilets\nDE,ABC,LOC9,yes\n",
     "row 2, column location_id: DE/ABC has no location"),
    (b"country_code,party_id,legal_name\nDE,ABC,M\xfcller\n", "row 1: not UTF-8 text"),
])
def test_a_bad_csv_file_imports_nothing_and_says_where(sessions, text, expected):
    _location(sessions, _feed(sessions))
    # With a good row after the bad ones too: that one is not stored either.
    variants = [text] + ([text + "DE,ABC,Kept out\n"] if isinstance(text, str)
                         and text.startswith("country_code,party_id,legal_name") else [])
    for data in variants:
        with write_session(sessions) as session, pytest.raises(supplements.CsvImportError) as refused:
            supplements.import_csv(session, data)
        assert any(line.startswith(expected) for line in refused.value.lines()), refused.value.lines()
    assert count_rows(sessions, Supplement) == 0


def test_the_command_imports_a_file_or_says_what_is_wrong(sessions, settings, tmp_path, monkeypatch):
    from nap.cli import main

    _location(sessions, _feed(sessions))
    monkeypatch.setenv("NAP_DATABASE_URL", settings.database_url)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD_CSV)
    bad.write_text("country_code,party_id,nuts1\nDE,ABC,Bavaria\n")
    refused = CliRunner().invoke(main, ["supplements", "import", str(bad)])
    assert refused.exit_code != 0 and "row 2, column nuts1" in refused.output
    assert count_rows(sessions, Supplement) == 0
    done = CliRunner().invoke(main, ["supplements", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "2 rows" in done.output and count_rows(sessions, Supplement) == 2


# --- the DATEX II table carries it, the OCPI API does not ---------------------------------------


def _site(content: bytes, site_id: str) -> etree._Element:
    [site] = etree.fromstring(content).xpath(f"//*[local-name()='energyInfrastructureSite'][@id='{site_id}']")
    return site


def _texts(element: etree._Element, path: str) -> list[str]:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return [text.strip() for text in element.xpath(f"{steps}//text()") if text.strip()]


def test_the_afir_table_carries_the_supplement_and_the_ocpi_api_does_not(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=3)
    assert register_and_harvest(sessions, settings, cpo, name="Ladenetz").status == "success"
    first_location, second_location = (location["id"] for location in cpo.app.config["FLEET"].locations[:2])
    url = f"{nap_server.url}{BASE}/table"
    before = httpx.get(url, params={"profile": "afir"})
    ocpi_before = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations").json()["data"]
    assert before.status_code == 200

    _set(sessions, "Ladenetz", ("DE", "ABC"), VALUES, None, source="csv")
    _set(sessions, "Ladenetz", ("DE", "ABC"), {"grid_power_kw": 150, "toilets": False}, None,
         location_id=first_location, source="csv")
    after = httpx.get(url, params={"profile": "afir"}, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert validate(after.content) == []
    site = _site(after.content, f"DE*ABC*{second_location}")
    assert _texts(site, "operator/legalName") == [VALUES["legal_name"]]
    assert _texts(site, "brand") == ["ABC Laden"]
    assert _texts(site, "serviceType/serviceType") == ["unattended"]
    facilities = {tuple(_texts(f, "equipmentType")): _texts(f, "availability")
                  for f in site.xpath("*[local-name()='supplementalFacility']")}
    assert facilities[("toilet",)] == ["available"] and facilities[("restingFacilities",)] == ["notAvailable"]
    assert _texts(site, "locationReference/_locationExtension/afirFacilityLocation/nutsArea") == ["nuts1Code", "DE3"]
    assert _texts(site, "rates/payment/paymentMeans") == ["emv", "nfc"]
    assert _texts(site, "rates/payment/otherPaymentMeans") == ["Pay by SMS"]
    assert _texts(site, "rates/payment/brandsAccepted") == ["visa", "giroCard"]
    assert _texts(site, "rates/payment/otherBrandsAccepted") == ["ABC Pay"]
    assert _texts(site, "energyInfrastructureStation/totalMaximumPower") == ["350000"]
    own = _site(after.content, f"DE*ABC*{first_location}")  # its own values over the party's
    assert _texts(own, "energyInfrastructureStation/totalMaximumPower") == ["150000"]
    assert _texts(own, "brand") == ["ABC Laden"]
    assert own.get("version") != _site(before.content, f"DE*ABC*{first_location}").get("version")

    generic = httpx.get(url, params={"profile": "generic"})
    assert generic.status_code == 200 and validate(generic.content) == []
    assert _texts(_site(generic.content, f"DE*ABC*{second_location}"), "brand") == ["ABC Laden"]
    # The status refers to the versions the table carries.
    status = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": "afir"})
    assert status.status_code == 200 and validate(status.content) == []
    references = etree.fromstring(status.content).xpath(
        "//*[local-name()='energyInfrastructureSiteStatus']/*[local-name()='reference']")
    assert {r.get("id"): r.get("version") for r in references}[f"DE*ABC*{first_location}"] == own.get("version")
    # The OCPI publication stays the CPO's own.
    ocpi_after = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations").json()["data"]
    assert ocpi_after == ocpi_before
    assert "ABC Ladenetz GmbH & Co. KG" not in str(ocpi_after) and "giroCard" not in str(ocpi_after)


# --- the portal page ---------------------------------------------------------------------------


@pytest.fixture
def client(nap_server):
    from tests.portal_fixtures import PortalClient

    clients = []

    def make():
        clients.append(PortalClient(nap_server.url))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def test_the_portal_page_saves_versions_for_the_feeds_organisation_only(client, sessions):
    feed_id = _feed(sessions)
    _owner(sessions, "cpo@abc.example", feed_id)
    _owner(sessions, "cpo@xyz.example", None)
    page = f"/portal/feeds/{feed_id}/parties/DE/ABC/supplement"

    owner = client()
    owner.login("cpo@abc.example")
    feed_page = owner.get(f"/portal/feeds/{feed_id}")
    assert page in feed_page.text
    assert owner.get(page).status_code == 200
    form = {"legal_name": "ABC Ladenetz GmbH", "brand_name": "ABC Laden", "service_type": "selfService",
            "toilets": "yes", "rest_area": "", "nuts1": "DE3", "payment_means": ["emv", "nfc"],
            "other_payment_means": "", "payment_brands": ["visa"], "other_payment_brands": "ABC Pay",
            "grid_power_kw": "300"}
    saved = owner.post(page, form)
    assert saved.status_code == 302, saved.text[:2000]
    shown = owner.follow(saved)
    assert "saved" in shown.text and 'value="ABC Ladenetz GmbH"' in shown.text
    assert 'data-testid="supplement-history"' in shown.text and "cpo@abc.example" in shown.text
    # A value the schema cannot hold: a clear message, the typed values kept, nothing stored.
    refused = owner.post(page, {**form, "nuts1": "Bavaria", "legal_name": "Typed"})
    assert refused.status_code == 422 and "nuts1: a NUTS-1 code" in refused.text and 'value="Typed"' in refused.text
    # A location's own values; a location the party does not have is refused.
    assert owner.get(page, params={"location": "NOPE"}).status_code == 200
    assert owner.post(page + "?location=NOPE", {"grid_power_kw": "11"}).status_code == 422
    assert "fills A1, A2, A4, A6, A10, A22, A23, B5" in owner.get(f"/portal/feeds/{feed_id}").text
    with sessions() as session:
        assert [row.version for row in supplements.history(session, "DE", "ABC")] == [1]
        assert supplements.party_supplement(session, "DE", "ABC").values["grid_power_kw"] == 300

    outsider = client()
    outsider.login("cpo@xyz.example")
    assert outsider.get(page).status_code == 404
    outsider.get("/portal/")
    assert outsider.post(page, form).status_code == 404
    assert client().post(page, form, csrf=False).status_code in (302, 400)  # signed out: never stored
    unverified = owner.get(f"/portal/feeds/{feed_id}/parties/DE/QQQ/supplement")
    assert unverified.status_code == 404
    with sessions() as session:
        assert len(supplements.history(session, "DE", "ABC")) == 1

"""The CPO's supplement page: per verified party of a feed (and, where a location differs,
per location), what OCPI cannot carry and the AFIR publication needs (nap/supplements.py),
with the current values and every version before them.

The feed must be one the user may see (nap/portal/ownership.py); anything else is a 404, as
on the feed's other pages. nap.supplements.set_supplement checks the party and the user
again: the form is not the only way in."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from nap import supplements
from nap.ocpi.ids import id_key
from nap.parties import verified_parties
from nap.portal.auth import current_user, login_required
from nap.portal.ownership import visible_feed
from nap.portal.pages import portal_blueprint
from nap.store.tables import Feed, Location, User
from nap.web import db_session

blueprint = portal_blueprint("portal_supplement", url_prefix="/portal")

_LABELS = {
    "legal_name": "Legal name of the operator", "brand_name": "Brand (commercial) name",
    "service_type": "On-site service", "toilets": "Toilets", "rest_area": "Rest area",
    "nuts1": "NUTS-1 region", "payment_means": "Accepted payment means",
    "other_payment_means": "Other payment means", "payment_brands": "Accepted card brands",
    "other_payment_brands": "Other payment providers", "grid_power_kw": "Grid-connection power (kW)",
}
_SERVICE_TEXT = {"fullService": "full service", "physicalAttendance": "staff present on site",
                 "selfService": "self-service", "unattended": "unattended"}


def _feed_and_party(feed_id: int, country_code: str, party_id: str) -> tuple[Feed, str, str]:
    session = db_session()
    feed = visible_feed(session, current_user(), feed_id)
    if feed is None:
        abort(404, description="You have no feed with this number.")
    pair = (country_code.upper(), party_id.upper())
    if pair not in verified_parties(session, feed.id):
        abort(404, description=f"{pair[0]}/{pair[1]} is not a verified party of {feed.name}: "
                               "values can be given only for a party the administrators have verified.")
    return feed, *pair


def _location_id(country_code: str, party_id: str) -> tuple[str | None, str | None]:
    """The location the page is about (as the CPO spelled its id), and an error if the id
    names none of the party's locations."""
    wanted = (request.values.get("location") or "").strip()
    if not wanted:
        return None, None
    spelled = db_session().scalar(select(Location.ocpi_id).where(
        Location.country_code == country_code, Location.party_id == party_id, Location.id_key == id_key(wanted[:80])))
    if spelled is None:
        return None, f"{country_code}/{party_id} has no location {wanted!r}."
    return spelled, None


def _form_values(form) -> dict:
    values: dict = {name: form.get(name, "") for name in ("legal_name", "brand_name", "service_type", "toilets",
                                                          "rest_area", "nuts1", "grid_power_kw",
                                                          "other_payment_means", "other_payment_brands")}
    values["payment_means"] = form.getlist("payment_means")
    values["payment_brands"] = form.getlist("payment_brands")
    return {name: (value if value != "" else None) for name, value in values.items()}


def _as_form(values: dict) -> dict:
    """Stored values as the form shows them: lists joined, yes/no words, numbers as typed."""
    shown = dict(values)
    for name in ("other_payment_means", "other_payment_brands"):
        shown[name] = "; ".join(values.get(name, []))
    for name in supplements.YES_NO:
        shown[name] = {True: "yes", False: "no"}.get(values.get(name), "")
    shown["grid_power_kw"] = "" if values.get("grid_power_kw") is None else str(values["grid_power_kw"])
    return shown


def _authors(rows) -> dict[int, str]:
    ids = {row.created_by for row in rows if row.created_by is not None}
    if not ids:
        return {}
    return dict(db_session().execute(select(User.id, User.email).where(User.id.in_(ids))).all())


@blueprint.route("/feeds/<int:feed_id>/parties/<country_code>/<party_id>/supplement", methods=["GET", "POST"])
@login_required
def supplement_page(feed_id: int, country_code: str, party_id: str):
    feed, country_code, party_id = _feed_and_party(feed_id, country_code, party_id)
    session = db_session()
    location_id, location_error = _location_id(country_code, party_id)
    errors: dict[str, str] = {"location": location_error} if location_error else {}
    status = 422 if location_error and request.method == "POST" else 200
    form = None
    if request.method == "POST" and not location_error:
        form = _form_values(request.form)
        try:
            supplements.set_supplement(session, feed, country_code, party_id, form, user=current_user(),
                                       location_id=location_id)
            session.commit()
        except supplements.SupplementError as error:
            session.rollback()
            errors[error.field or "form"] = str(error)
            status = 422
        else:
            flash(f"Supplement for {country_code}/{party_id}{' location ' + location_id if location_id else ''} "
                  "saved. The next AFIR table carries it.", "success")
            return redirect(url_for(".supplement_page", feed_id=feed.id, country_code=country_code,
                                    party_id=party_id, **({"location": location_id} if location_id else {})))
    party = supplements.party_supplement(session, country_code, party_id)
    current = party.locations.get(id_key(location_id), {}) if location_id else party.values
    history = supplements.history(session, country_code, party_id, location_id)
    shown = _as_form(current)
    if form is not None:  # what was typed stays in the form
        shown = {**{k: ("" if v is None else v) for k, v in form.items()},
                 "payment_means": form["payment_means"] or [], "payment_brands": form["payment_brands"] or []}
    return render_template(
        "portal/supplement.html", feed=feed, country_code=country_code, party_id=party_id,
        location_id=location_id, wanted_location=request.values.get("location", ""), values=shown, current=current,
        party=party, errors=errors, history=history, authors=_authors(history), labels=_LABELS,
        service_types=_SERVICE_TEXT, payment_means=supplements.PAYMENT_MEANS,
        payment_brands=supplements.PAYMENT_BRANDS, annex=supplements.ANNEX_ITEMS,
        annex_items=supplements.annex_items), status


@blueprint.app_template_global("supplement_annex_items")
def supplement_annex_items(country_code: str, party_id: str) -> list[str]:
    """The AFIR Annex items a party's current supplement fills (the feed page shows them)."""
    try:
        return supplements.party_supplement(db_session(), country_code, party_id).annex_items()
    except ValueError:
        return []

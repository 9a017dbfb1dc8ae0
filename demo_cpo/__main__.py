"""`python -m demo_cpo`: the demo CPO as a process of its own (what `make run` starts).

A tool, not part of the access point: NAP harvests it like any other CPO."""
from __future__ import annotations

import click
from werkzeug.serving import run_simple

from demo_cpo.fleet import HubParty, generate_fleet, generate_hub_fleet
from demo_cpo.server import DemoOptions, create_app


@click.command("demo-cpo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True)
@click.option("--locations", default=200, show_default=True)
@click.option("--ocpi-version", default="2.3.0", type=click.Choice(["2.3.0", "2.2.1", "2.1.1"]), show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--token", default="demo-token", show_default=True)
@click.option("--page-limit", default=100, show_default=True)
@click.option("--fail-rate", default=0.0, show_default=True, help="Fraction of list requests answered 503.")
@click.option("--slow-ms", default=0, show_default=True, help="Delay per list request.")
@click.option("--broken-objects", default=0, show_default=True, help="Locations served deliberately invalid.")
@click.option("--grow-while-paging", default=0, show_default=True, help="Locations appearing after the first page.")
@click.option("--hub-party-id", default=None,
              help="Serve as a roaming hub with this id (country code and party id, e.g. DEHUB).")
@click.option("--hub-party", "hub_parties", multiple=True, metavar="CC/PID[:START]",
              help="A party the hub carries: its locations START.. (default 0) of the fleet a demo CPO of that "
                   "party serves, --locations of them. Repeat for several parties.")
@click.option("--perturb", default=0.0, show_default=True,
              help="Share of the hub's locations that differ from the party's own copy (status, power, place).")
def main(host, port, locations, ocpi_version, seed, token, page_limit, fail_rate, slow_ms,
         broken_objects, grow_while_paging, hub_party_id, hub_parties, perturb) -> None:
    """Run the built-in demo CPO: a real OCPI server with generated data."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise click.ClickException("the demo CPO only listens on loopback")
    options = DemoOptions(ocpi_version=ocpi_version, token=token, page_limit=page_limit, fail_rate=fail_rate,
                          slow_ms=slow_ms, broken_objects=broken_objects, grow_while_paging=grow_while_paging,
                          seed=seed, hub_party_id=hub_party_id)
    if hub_party_id:
        fleet = generate_hub_fleet([_hub_party(text, locations) for text in hub_parties or ("DE/ABC",)],
                                   seed=seed, perturb=perturb)
    else:
        fleet = generate_fleet(locations=locations, seed=seed)
    app = create_app(fleet, options)
    click.echo(f"demo CPO (OCPI {ocpi_version}, {locations} locations) on http://{host}:{port}/ocpi/versions")
    run_simple(host, port, app, threaded=True)


def _hub_party(text: str, count: int) -> HubParty:
    pair, _, start = text.partition(":")
    country_code, _, party_id = pair.partition("/")
    if len(country_code) != 2 or not 1 <= len(party_id) <= 3 or (start and not start.isdigit()):
        raise click.BadParameter(f"{text!r} is not CC/PID[:START]", param_hint="--hub-party")
    return HubParty(country_code, party_id, count, int(start or 0))


if __name__ == "__main__":
    main()

"""The demo CPO in a process of its own, sized by EVSEs rather than locations:

    python -m bench.demo_server --port P --evses 100000 [--page-limit 1000] [--seed 1]
                                [--hub-from 0.5 [--perturb 0.1]]

It generates the fleet with demo_cpo.fleet.generate_fleet, keeps the shortest prefix
of locations holding at least --evses EVSEs (location i does not depend on the fleet size,
so that prefix is exactly generate_fleet(locations=k)), and serves it with werkzeug's
threaded server on loopback. One JSON line on stdout says how big the fleet is.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import sys

from werkzeug.serving import make_server

from demo_cpo.fleet import HubParty, generate_fleet, generate_hub_fleet
from demo_cpo.server import DemoOptions, create_app

# A demo location holds about 3.2 EVSEs (seed 1); ask for a little more and cut.
SAMPLE_EVSES_PER_LOCATION = 3.0


def sized_fleet(evses: int, seed: int):
    locations = max(1, math.ceil(evses / SAMPLE_EVSES_PER_LOCATION))
    while True:
        fleet = generate_fleet(locations=locations, seed=seed)
        total = 0
        for index, location in enumerate(fleet.locations):
            total += len(location["evses"])
            if total >= evses:
                del fleet.locations[index + 1:]
                return fleet, total
        locations = math.ceil(locations * 1.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--evses", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-limit", type=int, default=1000)
    parser.add_argument("--hub-from", type=float, default=None,
                        help="serve as a roaming hub carrying DE/ABC's locations from this share of the sized "
                             "fleet on, as many as it holds (0.5: overlapping the CPO of that size by half)")
    parser.add_argument("--perturb", type=float, default=0.1, help="with --hub-from: the share perturbed")
    args = parser.parse_args()
    fleet, evses = sized_fleet(args.evses, args.seed)
    options = DemoOptions(page_limit=args.page_limit, seed=args.seed)
    if args.hub_from is not None:
        count = len(fleet.locations)
        fleet = generate_hub_fleet([HubParty("DE", "ABC", count, int(count * args.hub_from))], seed=args.seed,
                                   perturb=args.perturb)
        evses = sum(len(location["evses"]) for location in fleet.locations)
        options.hub_party_id = "DEHUB"
    app = create_app(fleet, options)
    # The fleet lives as long as the process: keep the collector from walking its millions of
    # objects over and over (that would slow the CPO down, not NAP).
    gc.collect()
    gc.freeze()
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    connectors = sum(len(e["connectors"]) for loc in fleet.locations for e in loc["evses"])
    print(json.dumps({"locations": len(fleet.locations), "evses": evses, "connectors": connectors,
                      "tariffs": len(fleet.tariffs)}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()

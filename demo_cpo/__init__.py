"""Demo CPO: a deterministic, real OCPI CPO server (2.3.0, 2.2.1 or 2.1.1) for tests, benchmarks and demos.

    fleet = generate_fleet(locations=200, seed=1)
    app = create_app(fleet, DemoOptions(ocpi_version="2.2.1", broken_objects=3))
"""

from .fleet import Fleet, generate_fleet
from .server import DemoOptions, create_app, touch_location
from nap.ocpi.downgrade import to_version

__all__ = ["DemoOptions", "Fleet", "create_app", "generate_fleet", "to_version", "touch_location"]

"""The OCPI publication API: the 2.3.0 module endpoints, their sources and the 2.2.1 view."""

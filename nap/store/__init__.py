"""The store: one database holding every feed's normalized OCPI 2.3.0 data and its history."""

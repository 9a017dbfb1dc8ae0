"""Harvesters: pull OCPI data from CPOs and bring it into the store."""

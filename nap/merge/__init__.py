"""One charger, several sources: the rules that merge a CPO's, a hub's and an aggregator's
copies of a location into the one NAP publishes (rules.py), and how an aggregator's
location without EVSE ids is matched to another source's by place (matching.py)."""

"""NAP: a National Access Point for EV charging data (AFIR Art. 20)."""

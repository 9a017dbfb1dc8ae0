"""Data quality of what a CPO publishes through NAP, judged against AFIR.

The harvester's findings say why an object could not be stored; these rules look at what
*was* stored and say how far it is from what AFIR (Regulation (EU) 2023/1804, Art. 20)
asks of a charge point operator. They are an ordered list of named rules
(`nap.quality.rules.RULES`), each with a severity and a one-line explanation, run over a
snapshot of one feed (`nap.quality.snapshot`); `nap.quality.coverage` scores each AFIR
field, and `nap.quality.report` puts both together for the portal.
"""
from nap.quality.report import QualityFinding, QualityReport, build_report, cached_report
from nap.quality.rules import RULES, Rule

__all__ = ["QualityFinding", "QualityReport", "RULES", "Rule", "build_report", "cached_report"]

"""Accreditation reporting: exports for ACCME PARS, board MOC, CPE Monitor and CE Broker, outcomes and charts."""

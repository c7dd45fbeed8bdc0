"""Accreditation reporting and outcomes (issue 16)."""

"""News: short articles on research with their citation and topics, the Atom feed, and the organizers' pages."""

"""Abstracts: presented work with its authors, structured body and keywords; organizers add, edit and import them
(CSV), the public reads the published ones, and each activity gets a book of abstracts (PDF)."""

"""Session materials (issue 15, points 1-4): slides and handouts (PDF, PowerPoint) attached to an agenda session or
to a whole activity, checked by their content when uploaded (`checks`), kept by their SHA-256 under CME_STORAGE_DIR
(`storage`), with a first-page thumbnail and their text extracted for search (`previews`). Who may open or see
one is decided in one place (`release`); `service` holds the organizer's operations and what a page lists."""

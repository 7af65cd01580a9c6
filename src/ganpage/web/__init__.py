"""The website: app factory, catalog of showable pictures, templates and static files."""

"""HTTP: the JSON API and the HTML pages, both thin over docsvc's services."""

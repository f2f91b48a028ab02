"""The debrief report and the statistics summary: templates, catalogues (EN, RU) and rendering."""

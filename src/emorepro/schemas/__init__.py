"""JSON Schemas (draft 2020-12) shipped with the package."""

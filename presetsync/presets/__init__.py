"""Presets as code: files, schema validation, normalisation, plan, apply, export."""

"""Uploadcare's Upload API (docs/compat-uploadcare.md): its clients upload into Imgwire."""

"""Bulk downloads: zip archives of a selection of images, streamed into storage."""

"""Other vendors' upload protocols, spoken over Imgwire's own images (one model underneath)."""

"""identity domain of the central service."""

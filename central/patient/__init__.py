"""patient domain of the central service."""

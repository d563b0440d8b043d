"""notify domain of the central service."""

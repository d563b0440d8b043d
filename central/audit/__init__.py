"""audit domain of the central service."""

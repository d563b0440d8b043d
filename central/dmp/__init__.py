"""dmp domain of the central service."""

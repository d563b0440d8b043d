"""professionals domain of the central service."""

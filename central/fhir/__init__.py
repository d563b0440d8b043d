"""The FHIR R4 doorway (IHE MHD as the ANS profiles it in PDSm) onto the same service."""

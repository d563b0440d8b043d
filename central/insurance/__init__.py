"""The health insurance's feed of reimbursed care: a system client of the service."""

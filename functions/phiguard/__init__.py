"""PHI Guard: event-driven HIPAA continuous-compliance remediation for AWS."""

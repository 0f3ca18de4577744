"""The local lab: real PostgreSQL and Redis, the Kubernetes API simulator and SaaS stand-ins."""

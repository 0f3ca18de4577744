"""The lab's stand-in for the service behind the pynomaly-api Deployment (an aiohttp app on loopback)."""

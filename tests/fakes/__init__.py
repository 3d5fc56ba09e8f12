"""Local stand-ins for vendor APIs: aiohttp servers on port 0 that check real signatures."""

"""Each finding of the hardening review, replayed (HTTP, websocket, worker, processes)."""

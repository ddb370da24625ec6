"""The citizens' web chat: a channel served over a WebSocket, with its page and widget."""

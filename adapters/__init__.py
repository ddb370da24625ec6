"""Channel adapters: one module per messenger, speaking only the normalized types."""

"""Pure dialog logic: message types, knowledge base, retrieval, rules and the engine."""

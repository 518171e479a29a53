"""Wire formats: each renders the engine's neutral ``FlowResult`` for one kind of client."""

"""Action classes, one module per sub-flow; each reads inputs, calls a service, moves on."""

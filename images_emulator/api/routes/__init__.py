"""HTTP routes; each module wires one endpoint to the plain functions that do the work."""

"""Adapters to outside systems: schedule imports and exports that produce or read the Schedule model."""

"""Drivers: the model seam (``protocol``) and the deterministic scripted driver."""

"""Touchpoint: customer lifecycle management for omnichannel contact centers."""

__version__ = "0.1.0"
